import t from 'tap'
import { TOKEN, TOKEN_HASH, call, isProblem, openWatch, startGateway, stopGateway } from './helpers.js'

const server = await startGateway({ env: { RSTMDB_AUTH_REQUIRED: 'true', RSTMDB_AUTH_TOKEN_HASH: TOKEN_HASH, RSTMDB_METRICS_REQUIRE_AUTH: 'true' } })
t.teardown(() => stopGateway(server))
const { base, wsBase } = server
const good = { authorization: `Bearer ${TOKEN}` }

const PROTECTED: Array<[string, string, unknown?]> = [
  ['GET', '/v1/info'],
  ['GET', '/v1/machines'],
  ['GET', '/v1/machines/order'],
  ['PUT', '/v1/machines/order/versions/1', { states: ['a'], initial: 'a', transitions: [] }],
  ['GET', '/v1/machines/order/versions/1'],
  ['GET', '/v1/machines/order/versions/1/diagram'],
  ['POST', '/v1/machines/validate', { states: ['a'], initial: 'a', transitions: [] }],
  ['POST', '/v1/instances', { machine: 'order', version: 1 }],
  ['GET', '/v1/instances'],
  ['GET', '/v1/instances/i'],
  ['GET', '/v1/instances/i/transitions'],
  ['DELETE', '/v1/instances/i'],
  ['POST', '/v1/instances/i/events', { event: 'GO' }],
  ['POST', '/v1/instances/i/snapshot'],
  ['POST', '/v1/batch', { ops: [] }],
  ['GET', '/v1/wal?from_offset=1'],
  ['GET', '/v1/wal/stats'],
  ['POST', '/v1/compact'],
  ['GET', '/v1/watch'],
  ['GET', '/metrics'],
]

t.test('every protected route needs a bearer token', async t => {
  for (const [method, path, json] of PROTECTED) {
    const missing = await call(base, method, path, { json })
    t.equal(missing.status, 401, `${method} ${path} without token`)
    t.ok(isProblem(missing.body, 401, 'UNAUTHORIZED'))
    t.match(missing.headers.get('www-authenticate'), /^Bearer/)
    const wrong = await call(base, method, path, { json, headers: { authorization: 'Bearer nope' } })
    t.equal(wrong.status, 401, `${method} ${path} wrong token`)
    t.ok(isProblem(wrong.body, 401, 'AUTH_FAILED'))
    t.match(wrong.headers.get('www-authenticate'), /^Bearer/)
    const ok = await call(base, method, path, { json, headers: good })
    t.not(ok.status, 401, `${method} ${path} with the token`)
  }
  const basic = await call(base, 'GET', '/v1/info', { headers: { authorization: 'Basic Zm9vOmJhcg==' } })
  t.equal(basic.status, 401)
  t.equal(basic.body.code, 'AUTH_FAILED')
})

t.test('public routes need no token', async t => {
  for (const path of ['/healthz', '/readyz', '/openapi.json', '/openapi.yaml', '/docs/']) {
    t.equal((await call(base, 'GET', path)).status, 200, path)
  }
})

t.test('WebSocket: a missing or wrong token closes with 4401 and its reason; header or access_token', async t => {
  // a browser sees nothing of a refused upgrade but code 1006: the socket opens and closes with the reason
  const missing = await openWatch(`${wsBase}/v1/watch?instance_id=x`)
  t.same(await missing.closed, { code: 4401, reason: 'UNAUTHORIZED: authentication required' })
  t.same(missing.messages, [], 'nothing is sent before the close')
  const wrong = await openWatch(`${wsBase}/v1/watch?access_token=nope`)
  t.same(await wrong.closed, { code: 4401, reason: 'AUTH_FAILED: invalid token' })
  const wrongHeader = await openWatch(`${wsBase}/v1/watch`, { authorization: 'Bearer nope' })
  t.equal((await wrongHeader.closed).code, 4401)
  const viaHeader = await openWatch(`${wsBase}/v1/watch`, good)
  t.equal((await viaHeader.waitFor(m => m.id === 'open')).status, 'ok')
  viaHeader.ws.close()
  // what a browser page does: no headers, the token in the query string
  const browser = await openWatch(`${wsBase}/v1/watch?access_token=${encodeURIComponent(TOKEN)}`)
  t.equal((await browser.waitFor(m => m.id === 'open')).status, 'ok')
  browser.ws.close()
  await browser.closed
  t.notOk(JSON.stringify(server.logs).includes(TOKEN), 'the token never reaches the log')
})

t.test('access_token is only for the WebSocket route', async t => {
  t.equal((await call(base, 'GET', `/v1/info?access_token=${TOKEN}`)).status, 401)
})
