import t from 'tap'
import { clientFor, loose, rejected } from '../support/client.js'
import { ODD_NAMES } from '../diagram/helpers.js'
import { call, isProblem, putOrderMachine, startGateway, stopGateway } from './helpers.js'

const server = await startGateway()
t.teardown(() => stopGateway(server))
const { base } = server
await putOrderMachine(base)
const DIAGRAM = '/v1/machines/order/versions/1/diagram'

t.test('SVG by default: the document itself, with its ETag and a policy that lets it run nothing', async t => {
  const res = await call(base, 'GET', DIAGRAM)
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-type'), 'image/svg+xml; charset=utf-8')
  t.match(res.text, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  t.match(res.text, /data-state="created"/)
  t.equal(res.headers.get('content-security-policy'), "default-src 'none'; style-src 'unsafe-inline'")
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
  t.equal(res.headers.get('cache-control'), 'no-cache')
  const machine = await call(base, 'GET', '/v1/machines/order/versions/1')
  t.equal(res.headers.get('etag'), `"${String(machine.body.checksum)}.svg"`, 'checksum plus options')
  t.equal((await call(base, 'GET', `${DIAGRAM}?format=svg`)).text, res.text, 'the same bytes again')
})

t.test('latest, mermaid and dot', async t => {
  const latest = await call(base, 'GET', '/v1/machines/order/versions/latest/diagram?format=mermaid')
  t.equal(latest.status, 200)
  t.equal(latest.headers.get('content-type'), 'text/plain; charset=utf-8')
  t.match(latest.text, /^stateDiagram-v2\n/)
  t.equal(latest.text, (await call(base, 'GET', `${DIAGRAM}?format=mermaid`)).text)
  const dot = await call(base, 'GET', `${DIAGRAM}?format=dot`)
  t.equal(dot.headers.get('content-type'), 'text/plain; charset=utf-8')
  t.match(dot.text, /^digraph machine \{\n/)
  t.equal(dot.headers.get('content-security-policy'), null)
})

t.test('highlight marks the state and changes the ETag; If-None-Match revalidates', async t => {
  const plain = await call(base, 'GET', DIAGRAM)
  const lit = await call(base, 'GET', `${DIAGRAM}?highlight=paid`)
  t.match(lit.text, /<g class="state highlighted" data-state="paid">/)
  t.not(lit.headers.get('etag'), plain.headers.get('etag'))
  const etag = lit.headers.get('etag') as string
  const again = await call(base, 'GET', `${DIAGRAM}?highlight=paid`, { headers: { 'if-none-match': etag } })
  t.equal(again.status, 304)
  t.equal(again.text, '')
  t.equal(again.headers.get('etag'), etag)
  t.equal((await call(base, 'GET', `${DIAGRAM}?highlight=shipped`, { headers: { 'if-none-match': etag } })).status, 200, 'another highlight is another representation')
})

t.test('errors are problems', async t => {
  const noMachine = await call(base, 'GET', '/v1/machines/nope/versions/1/diagram')
  t.ok(isProblem(noMachine.body, 404, 'MACHINE_NOT_FOUND'))
  const noVersion = await call(base, 'GET', '/v1/machines/order/versions/9/diagram')
  t.ok(isProblem(noVersion.body, 404, 'MACHINE_NOT_FOUND'))
  const format = await call(base, 'GET', `${DIAGRAM}?format=png`)
  t.ok(isProblem(format.body, 400, 'BAD_REQUEST'))
  t.equal(format.body.details.field, 'format')
  const highlight = await call(base, 'GET', `${DIAGRAM}?highlight=${encodeURIComponent('<nope>')}`)
  t.ok(isProblem(highlight.body, 400, 'BAD_REQUEST'))
  t.same(highlight.body.details, { field: 'highlight' })
  const version = await call(base, 'GET', '/v1/machines/order/versions/first/diagram')
  t.ok(isProblem(version.body, 400, 'BAD_REQUEST'))
})

t.test('odd names through the route: escaped in every format, the path and query round-trip', async t => {
  const machine = ODD_NAMES[1]
  const definition = { states: ODD_NAMES, initial: ODD_NAMES[0], transitions: [{ from: ODD_NAMES[0], event: ODD_NAMES[2], to: ODD_NAMES[1], guard: 'ctx.a != "<b>"' }] }
  const put = await call(base, 'PUT', `/v1/machines/${encodeURIComponent(machine)}/versions/1`, { json: definition })
  t.equal(put.status, 201)
  const path = `/v1/machines/${encodeURIComponent(machine)}/versions/1/diagram`
  const svg = await call(base, 'GET', `${path}?highlight=${encodeURIComponent(ODD_NAMES[0])}`)
  t.equal(svg.status, 200)
  t.notMatch(svg.text, /<script|<img/)
  t.match(svg.text, /<g class="state initial highlighted" data-state="&#60;script&#62;/)
  for (const format of ['mermaid', 'dot']) {
    const text = await call(base, 'GET', `${path}?format=${format}`)
    t.equal(text.status, 200)
    t.notMatch(text.text, /<script|<img/, format)
  }
})

t.test('RCP GET_DIAGRAM answers what REST serves', async t => {
  const c = loose(await clientFor(t, server))
  const result = await c.request('GET_DIAGRAM', { machine: 'order', format: 'dot', highlight: 'paid' })
  const machine = await call(base, 'GET', '/v1/machines/order/versions/1')
  t.same(Object.keys(result).sort(), ['checksum', 'content', 'format', 'machine', 'version'])
  t.match(result, { format: 'dot', machine: 'order', version: 1, checksum: machine.body.checksum })
  t.equal(result.content, (await call(base, 'GET', `${DIAGRAM}?format=dot&highlight=paid`)).text)
  t.equal((await c.request('GET_DIAGRAM', { machine: 'order' })).format, 'svg', 'svg by default')
  t.match(await rejected(c.request('GET_DIAGRAM', { machine: 'order', highlight: 'nope' })), { code: 'BAD_REQUEST', details: { field: 'highlight' } })
  t.equal((await rejected(c.request('GET_DIAGRAM', { machine: 'order', version: 7 }))).code, 'MACHINE_NOT_FOUND')
})
