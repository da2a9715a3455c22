import http from 'node:http'
import t from 'tap'
import { call, isProblem, putOrderMachine, startGateway, stopGateway } from './helpers.js'

const server = await startGateway({ env: { RSTMDB_HTTP_BODY_LIMIT: '2048' } })
t.teardown(() => stopGateway(server))
const { base } = server
await putOrderMachine(base)
await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: 'x-1' } })

/** A raw request, for paths fetch would normalize (dot segments). */
function rawGet (path: string): Promise<{ status: number, body: any }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.httpPort as number, path }, res => {
      let text = ''
      res.on('data', (d: Buffer) => { text += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    }).on('error', reject)
  })
}

t.test('malformed JSON, wrong content type, oversized body', async t => {
  const malformed = await call(base, 'POST', '/v1/instances/x-1/events', { raw: '{"event":', headers: { 'content-type': 'application/json' } })
  t.equal(malformed.status, 400)
  t.ok(isProblem(malformed.body, 400, 'BAD_REQUEST'))
  t.match(malformed.headers.get('content-type'), /^application\/problem\+json/)
  t.equal(malformed.body.details.reason, 'invalid_json', 'the same reason RCP gives')
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
    const res = await call(base, 'POST', '/v1/instances/x-1/events', { raw: '{"event":"PAY"}', headers: { 'content-type': type } })
    t.equal(res.status, 415, type)
    t.ok(isProblem(res.body, 415, 'BAD_REQUEST'))
    t.same(res.body.details, { reason: 'unsupported_media_type' }, 'a reason a client can act on, not a framework code')
    t.notMatch(res.text, /FST_/)
  }
  const noType = await call(base, 'POST', '/v1/compact', { raw: '{}' })
  t.equal(noType.status, 415, 'a body without content type')
  const big = await call(base, 'POST', '/v1/instances/x-1/events', { json: { event: 'PAY', payload: { s: 'x'.repeat(4096) } } })
  t.equal(big.status, 413)
  t.ok(isProblem(big.body, 413, 'BAD_REQUEST'))
  t.same(big.body.details, { reason: 'body_too_large' })
  for (const body of ['[]', '"x"', '42', 'null']) {
    const res = await call(base, 'POST', '/v1/instances/x-1/events', { raw: body, headers: { 'content-type': 'application/json' } })
    t.equal(res.status, 400, `body ${body}`)
  }
})

t.test('unknown routes are 404; a wrong method on a known route is 405 with Allow', async t => {
  for (const [method, path] of [['GET', '/nope'], ['GET', '/v1'], ['GET', '/v1/instances/x-1/nope']]) {
    const res = await call(base, method, path)
    t.equal(res.status, 404, `${method} ${path}`)
    t.ok(isProblem(res.body, 404, 'NOT_FOUND'))
  }
  for (const [method, path, allow] of [
    ['POST', '/v1/machines', 'GET, HEAD'],
    ['PATCH', '/v1/instances/x-1', 'GET, HEAD, DELETE'],
    ['DELETE', '/v1/instances', 'GET, HEAD, POST'],
    ['GET', '/v1/batch', 'POST'],
    ['PUT', '/v1/watch', 'GET, HEAD'],
    ['POST', '/healthz', 'GET, HEAD'],
  ]) {
    const res = await call(base, method, path)
    t.equal(res.status, 405, `${method} ${path}`)
    t.equal(res.headers.get('allow'), allow, `${method} ${path} Allow`)
    t.ok(isProblem(res.body, 405, 'BAD_REQUEST'))
    t.match(res.body.details, { reason: 'method_not_allowed', allow: allow.split(', ') })
  }
})

t.test('bad path, query and header values', async t => {
  t.equal((await call(base, 'PUT', '/v1/machines/m/versions/0', { json: {} })).status, 400)
  t.equal((await call(base, 'PUT', '/v1/machines/m/versions/1.5', { json: {} })).status, 400)
  t.equal((await call(base, 'PUT', '/v1/machines/m/versions/99999999999', { json: {} })).status, 400)
  const limit = await call(base, 'GET', '/v1/instances?limit=ten')
  t.equal(limit.status, 400)
  t.equal(limit.body.details.field, 'limit')
  for (const value of ['1.5', '1e3', 'true', '0x10', ' 2']) {
    const res = await call(base, 'GET', `/v1/wal?from_offset=${encodeURIComponent(value)}`)
    t.same([res.status, res.body.details], [400, { field: 'from_offset' }], `an integer is written as one, not ${JSON.stringify(value)}`)
  }
  t.equal((await call(base, 'GET', `/v1/instances/${'é'.repeat(200)}`)).status, 400, 'id over 256 bytes')
  const long = await call(base, 'GET', `/v1/instances/${'a'.repeat(2000)}`)
  t.equal(long.status, 414, 'an over-long path')
  t.ok(isProblem(long.body, 414, 'BAD_REQUEST'))
  const encoding = await call(base, 'GET', '/v1/instances/%E0%A4%A')
  t.equal(encoding.status, 400, 'bad percent-encoding')
  t.ok(isProblem(encoding.body, 400, 'BAD_REQUEST'))
  t.equal((await call(base, 'GET', '/v1/info', { headers: { 'x-trace-id': 't'.repeat(300) } })).status, 400)
  const dots = await rawGet('/v1/instances/..')
  t.equal(dots.status, 404)
  t.equal(dots.body.code, 'INSTANCE_NOT_FOUND', 'a ".." id reaches the route as an id')
})

t.test('the server is still healthy', async t => {
  t.equal((await call(base, 'GET', '/readyz')).status, 200)
})

t.test('a "__proto__" key is ordinary data, as on RCP', async t => {
  const raw = '{"machine":"order","version":1,"instance_id":"proto-1","initial_ctx":{"__proto__":{"polluted":true},"n":1}}'
  const created = await call(base, 'POST', '/v1/instances', { raw, headers: { 'content-type': 'application/json' } })
  t.equal(created.status, 201)
  const got = await call(base, 'GET', '/v1/instances/proto-1')
  t.equal(got.status, 200)
  t.same(JSON.parse(got.text).ctx, JSON.parse('{"__proto__":{"polluted":true},"n":1}'), 'stored as an own key')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched')
})
