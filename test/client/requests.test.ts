import t from 'tap'
import { Client, ClientError, hashToken, RcpError } from 'rstmdb'
import { clientFor } from '../support/client.js'
import { ok, startFakeServer } from '../support/fake-server.js'
import { ORDER } from '../support/machines.js'
import { freePort, startServer } from '../support/server.js'

// The SDK's request path: typed methods, meta, typed errors, pipelining, trace, close (README "SDK").

const server = await startServer(t)

/** what a promise rejected with (fails the test when it resolved) */
async function failure (p: Promise<unknown>): Promise<any> {
  return await p.then(value => { throw new Error(`expected a rejection, got ${JSON.stringify(value)}`) }, (err: unknown) => err)
}

const HELLO_OK = (req: Record<string, unknown>): Record<string, unknown> => ok(req, { protocol_version: 1, wire_mode: 'binary_json' })

t.test('typed methods return the results; requestWithMeta adds meta with wal_offset and trace_id', async t => {
  const c = await clientFor(t, server)
  t.same(await c.putMachine({ machine: 'order', version: 1, definition: ORDER }), {
    machine: 'order', version: 1, stored_checksum: (await c.validateMachine({ definition: ORDER })).checksum, created: true,
  })
  const created = await c.requestWithMeta('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'r-1', initial_ctx: { amount: 5 } })
  t.same(created.result, { instance_id: 'r-1', state: 'pending', wal_offset: created.meta.wal_offset })
  t.match(created.meta, { leader: true, server_time: /^\d{4}-\d\d-\d\dT/ })
  const applied = await c.applyEvent({ instance_id: 'r-1', event: 'PAY', payload: { paid: true } })
  t.match(applied, { from_state: 'pending', to_state: 'paid', ctx: { amount: 5, paid: true }, applied: true })
  t.ok(applied.wal_offset > created.meta.wal_offset)
  t.match(await c.getInstance({ instance_id: 'r-1' }), { state: 'paid', last_wal_offset: applied.wal_offset })
  t.same(await c.request('GET_INSTANCE', { instance_id: 'r-1' }), await c.getInstance({ instance_id: 'r-1' }), 'request(op) is the same call')
  t.equal((await c.listInstances()).total, 1, 'params may be left out when none are required')
  const traced = await c.requestWithMeta('PING', {}, { traceId: 'trace-7' })
  t.same(traced, { result: { pong: true }, meta: { ...traced.meta, trace_id: 'trace-7' } })
})

t.test('a server error rejects with RcpError: code, message, retryable, details; the client stays usable', async t => {
  const c = await clientFor(t, server)
  const err = await failure(c.getInstance({ instance_id: 'ghost' }))
  t.ok(err instanceof RcpError)
  t.equal(err.code, 'INSTANCE_NOT_FOUND')
  t.equal(err.message, 'instance not found: ghost')
  t.equal(err.retryable, false)
  t.same(err.details, { instance_id: 'ghost' })
  t.same(await c.ping(), { pong: true })
})

t.test('a request before connect() connects first', async t => {
  const c = new Client({ servers: [server.address] })
  t.teardown(() => c.destroy())
  t.equal(c.connected, false)
  t.same(await c.ping(), { pong: true })
  t.equal(c.connected, true)
  t.equal(c.server, server.address)
})

t.test('client-side failures are ClientErrors: CONNECTION_FAILED, TIMEOUT, PROTOCOL_ERROR, INVALID_ARGUMENT', async t => {
  const port = await freePort()
  const refused = await failure(Client.connect({ servers: [`127.0.0.1:${port}`] }))
  t.ok(refused instanceof ClientError)
  t.match(refused, { code: 'CONNECTION_FAILED', retryable: true, message: `connect ECONNREFUSED 127.0.0.1:${port}` })

  // answers HELLO, then nothing ever again
  const silent = await startFakeServer(t, req => req.op === 'HELLO' ? [HELLO_OK(req)] : [])
  const slow = await Client.connect({ servers: [silent], requestTimeoutMs: 200 })
  t.teardown(() => slow.destroy())
  t.match(await failure(slow.ping()), { code: 'TIMEOUT', retryable: true, message: 'PING timed out after 0.2s' })
  t.match(await failure(slow.info({}, { timeoutMs: 100 })), { code: 'TIMEOUT', message: 'INFO timed out after 0.1s' }, 'per-request timeout')
  // a TLS handshake with a server that never answers it
  t.match(await failure(Client.connect({ servers: [silent], tls: true, connectTimeoutMs: 200 })), { code: 'TIMEOUT', message: 'connect timed out after 0.2s' })

  const garbage = await startFakeServer(t, () => [Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')])
  t.match(await failure(Client.connect({ servers: [garbage] })), { code: 'PROTOCOL_ERROR', retryable: false, message: 'unreadable data from server (bad_lead_byte)' })
  const teapot = await startFakeServer(t, req => req.op === 'HELLO'
    ? [HELLO_OK(req)]
    : [{ type: 'response', id: req.id, status: 'error', error: { code: 'TEAPOT', message: 'short and stout' } }])
  const odd = await Client.connect({ servers: [teapot] })
  t.teardown(() => odd.destroy())
  t.match(await failure(odd.ping()), { code: 'PROTOCOL_ERROR', message: /^malformed error response: / }, 'an error code outside §11')

  for (const options of [{ servers: ['no-port'] }, { servers: [] }, { requestTimeoutMs: -1 }, { wireMode: 'morse' as 'jsonl' }, { reconnect: { attempts: 1.5 } }, { reconnect: { attempts: 0 } }]) {
    t.throws(() => new Client(options), { name: 'ClientError', code: 'INVALID_ARGUMENT' }, JSON.stringify(options))
  }
  const c = await clientFor(t, server)
  t.match(await failure(c.putMachine({ machine: 'big', version: 1, definition: { pad: 'x'.repeat(17 * 1024 * 1024) } })),
    { code: 'INVALID_ARGUMENT', message: 'cannot send PUT_MACHINE: it exceeds the 16 MiB message limit' })
  t.same(await c.ping(), { pong: true }, 'nothing was sent')
})

t.test('pipelining: requests in flight together on one connection are answered in order', async t => {
  const sent: string[] = []
  const answered: string[] = []
  const c = await clientFor(t, server, {
    trace: (direction, message) => {
      if (direction === 'sent') sent.push(message.id as string)
      else if (message.type === 'response') answered.push(message.id as string)
    },
  })
  await c.createInstance({ machine: 'order', version: 1, instance_id: 'pipe', initial_ctx: { amount: 1 } })
  const before = sent.length
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => i % 2 === 0
    ? c.applyEvent({ instance_id: 'pipe', event: 'NOTE' })
    : c.getInstance({ instance_id: 'pipe' })))
  t.equal(results.length, 200)
  t.equal(sent.length - before, 200)
  t.same(answered.slice(-200), sent.slice(-200), 'answers in request order')
  const offsets = results.filter((_, i) => i % 2 === 0).map(r => (r as { wal_offset: number }).wal_offset)
  t.same(offsets, [...offsets].sort((a, b) => a - b), 'writes decided in the order sent')
})

t.test('the trace hook sees every message; jsonl is spoken throughout when asked for', async t => {
  const seen: Array<[string, Record<string, unknown>]> = []
  const c = await clientFor(t, server, { wireMode: 'jsonl', trace: (direction, message) => seen.push([direction, message]) })
  await c.ping()
  t.match(seen, [
    ['sent', { type: 'request', op: 'HELLO', params: { protocol_version: 1, client_name: 'rstmdb-test', wire_modes: ['jsonl'], features: ['idempotency', 'batch'] } }],
    ['received', { type: 'response', status: 'ok', result: { wire_mode: 'jsonl' } }],
    ['sent', { type: 'request', op: 'PING', params: {} }],
    ['received', { type: 'response', status: 'ok', result: { pong: true } }],
  ])
  t.equal(seen.length, 4)
})

t.test('close() sends BYE; then requests reject and nothing reconnects; bye() does the same', async t => {
  const ops: string[] = []
  const c = await clientFor(t, server, { trace: (direction, message) => { if (direction === 'sent') ops.push(message.op as string) } })
  await c.close()
  t.equal(ops.at(-1), 'BYE')
  t.equal(c.connected, false)
  t.match(await failure(c.ping()), { code: 'CONNECTION_FAILED', message: 'client is closed' })
  await c.close()
  t.equal(ops.at(-1), 'BYE', 'a second close sends nothing')
  t.match(await failure(c.connect()), { code: 'CONNECTION_FAILED' })

  const b = await clientFor(t, server)
  t.same(await b.bye(), { goodbye: true })
  t.match(await failure(b.ping()), { code: 'CONNECTION_FAILED', message: 'client is closed' })
})

t.test('token: AUTH follows HELLO; a refused token rejects connect() with the RcpError', async t => {
  const secured = await startServer(t, { env: { RSTMDB_AUTH_REQUIRED: 'true', RSTMDB_AUTH_TOKEN_HASH: hashToken('right') } })
  const good = await clientFor(t, secured, { token: 'right' })
  t.same(await good.listMachines(), { items: [] })
  const bad = await failure(Client.connect({ servers: [secured.address], token: 'wrong' }))
  t.ok(bad instanceof RcpError)
  t.match(bad, { code: 'AUTH_FAILED', message: 'invalid token' })
  const none = await clientFor(t, secured)
  t.match(await failure(none.listMachines()), { code: 'UNAUTHORIZED' })
})
