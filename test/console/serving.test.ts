import t from 'tap'
import { call, startConsole, stopGateway } from './helpers.js'

const server = await startConsole()
t.teardown(() => stopGateway(server))
const { base } = server

const home = await call(base, 'GET', '/')
const script = /<script type="module" src="(\/console\/assets\/main-[A-Z0-9]+\.js)">/.exec(home.text)?.[1] ?? ''
const style = /<link rel="stylesheet" href="(\/console\/assets\/main-[A-Z0-9]+\.css)">/.exec(home.text)?.[1] ?? ''

t.test('the app at /, with a policy that allows only its own script', async t => {
  t.equal(home.status, 200)
  t.equal(home.headers.get('content-type'), 'text/html; charset=utf-8')
  t.equal(home.headers.get('cache-control'), 'no-cache')
  t.match(home.headers.get('content-security-policy'), /script-src 'self';/)
  t.match(home.headers.get('content-security-policy'), /frame-ancestors 'none'/)
  t.match(home.text, /<div id="app">/)
  t.not(script, '', 'names its hashed bundle')
  t.not(style, '', 'names its hashed stylesheet')
  t.notMatch(home.text, /(src|href)="https?:/, 'nothing loaded from another origin')
})

t.test('deep links load the same app', async t => {
  for (const path of ['/machines', '/machines?new', '/machines/order', '/machines/a%2Fb/versions/1', '/machines/order/versions/new',
    '/instances', '/instances?machine=order', '/instances/order-1', '/instances/a%2F..%2Fb?at=3', '/events', '/server', '/machines/']) {
    const page = await call(base, 'GET', path)
    t.equal(page.status, 200, path)
    t.equal(page.text, home.text, path)
  }
})

t.test('hashed assets are cached for good; no listing, no guessing', async t => {
  for (const [path, type] of [[script, /^text\/javascript|^application\/javascript/], [style, /^text\/css/]] as const) {
    const asset = await call(base, 'GET', path)
    t.equal(asset.status, 200, path)
    t.match(asset.headers.get('content-type'), type)
    t.match(asset.headers.get('cache-control'), /max-age=31536000/)
    t.match(asset.headers.get('cache-control'), /immutable/)
  }
  for (const path of ['/console/assets/', '/console/assets/nope.js', '/console/', '/console/index.html', '/console/assets/..%2Findex.html', '/console/assets/%2e%2e/%2e%2e/package.json']) {
    const missing = await call(base, 'GET', path)
    t.equal(missing.status, 404, path)
    t.equal(missing.body.code, 'NOT_FOUND', path)
  }
})

t.test('the API, the docs and health are not shadowed', async t => {
  t.same((await call(base, 'GET', '/v1/machines')).body, { items: [] })
  t.match((await call(base, 'GET', '/docs/')).text, /swagger-ui/i)
  t.equal((await call(base, 'GET', '/healthz')).body.status, 'ok')
  t.equal((await call(base, 'GET', '/metrics')).status, 200)
  const unknown = await call(base, 'GET', '/v1/nope')
  t.equal(unknown.status, 404)
  t.equal(unknown.body.code, 'NOT_FOUND')
  const document = (await call(base, 'GET', '/openapi.json')).body
  const paths = Object.keys(document.paths)
  t.notOk(paths.some((p) => !p.startsWith('/v1/') && !['/healthz', '/readyz', '/metrics'].includes(p)), 'console routes are not in the API document')
})
