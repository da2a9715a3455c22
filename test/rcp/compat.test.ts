import t, { type Test } from 'tap'
import { hashToken } from '../../protocol/auth.js'
import { crc32c } from '../../protocol/crc32c.js'
import { ORDER } from '../support/machines.js'
import { rawClientFor, rawConnect, type RawClient } from '../support/raw-client.js'
import { startServer } from '../support/server.js'
import { errorOf, resultOf, within } from './helpers.js'

/**
 * Wire compatibility with the official SDKs (Rust client/CLI, Python, JS, Java, .NET):
 * each test sends what an SDK sends, byte for byte or field for field, and checks the
 * answer against what that SDK parses (field presence, JSON types, message order).
 */

const server = await startServer(t)

const isUint = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0

/** A frame exactly as the SDK encoders build it: version 1, CRC_PRESENT, header_len 0. */
function sdkFrame (message: object): Buffer {
  const payload = Buffer.from(JSON.stringify(message), 'utf8')
  const header = Buffer.alloc(18)
  header.write('RCPX', 0, 'latin1')
  header.writeUInt16BE(1, 4)
  header.writeUInt16BE(1, 6)
  header.writeUInt16BE(0, 8)
  header.writeUInt32BE(payload.length, 10)
  header.writeUInt32BE(crc32c(payload), 14)
  return Buffer.concat([header, payload])
}

/** Splits bytes into frames the way every SDK decoder does, checking what each one checks. */
function sdkDecode (bytes: Buffer): Array<{ flags: number, message: any }> {
  const frames: Array<{ flags: number, message: any }> = []
  let at = 0
  while (bytes.length - at >= 18) {
    if (bytes.toString('latin1', at, at + 4) !== 'RCPX') throw new Error('bad magic')
    if (bytes.readUInt16BE(at + 4) !== 1) throw new Error('bad version')
    const flags = bytes.readUInt16BE(at + 6)
    if ((flags & ~0x000F) !== 0) throw new Error('bad flags')
    const ext = bytes.readUInt16BE(at + 8)
    const len = bytes.readUInt32BE(at + 10)
    if (bytes.length - at < 18 + ext + len) break
    const payload = bytes.subarray(at + 18 + ext, at + 18 + ext + len)
    if ((flags & 1) !== 0 && crc32c(payload) !== bytes.readUInt32BE(at + 14)) throw new Error('bad crc')
    frames.push({ flags, message: JSON.parse(payload.toString('utf8')) })
    at += 18 + ext + len
  }
  return frames
}

async function untilFrames (raw: Awaited<ReturnType<typeof rawConnect>>, count: number): Promise<Array<{ flags: number, message: any }>> {
  for (let i = 0; i < 200; i++) {
    const frames = sdkDecode(raw.received())
    if (frames.length >= count) return frames
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  throw new Error(`expected ${count} frames, got ${sdkDecode(raw.received()).length}`)
}

/** What every typed SDK model requires of a response envelope. */
function checkEnvelope (t: Test, response: any): void {
  t.equal(response.type, 'response')
  t.type(response.id, 'string')
  t.ok(response.status === 'ok' || response.status === 'error')
  t.ok(isUint(response.meta?.wal_offset), 'meta.wal_offset is an integer (.NET: non-nullable ulong)')
  t.ok(!Number.isNaN(Date.parse(response.meta?.server_time)), 'meta.server_time parses as RFC 3339 (Rust: DateTime<Utc>)')
  if (response.status === 'error') {
    t.notOk('result' in response)
    t.type(response.error.retryable, 'boolean', 'retryable present (Python/Rust: required)')
    if ('details' in response.error) t.type(response.error.details, 'object', 'details is an object, never null')
  } else {
    t.notOk('error' in response)
    t.type(response.result, 'object')
  }
}

let machineVersion = 0
/** A fresh machine version and one instance of it. */
async function instance (c: RawClient, id: string): Promise<number> {
  const version = ++machineVersion
  resultOf(await c.request('PUT_MACHINE', { machine: 'compat', version, definition: ORDER }))
  resultOf(await c.request('CREATE_INSTANCE', { machine: 'compat', version, instance_id: id, initial_ctx: { amount: 5 } }))
  return version
}

t.test('Python/Rust/JS HELLO bytes: the first thing received is the HELLO response frame', async t => {
  const raw = await rawConnect(server.rcpPort)
  t.teardown(() => raw.socket.destroy())
  raw.socket.write(sdkFrame({
    type: 'request',
    id: '1',
    op: 'HELLO',
    params: { protocol_version: 1, client_name: 'rstmdb-py', wire_modes: ['binary_json'], features: ['idempotency', 'batch'] },
  }))
  const [hello] = await untilFrames(raw, 1)
  t.equal(raw.received().readUInt16BE(6), 1, 'flags CRC_PRESENT')
  t.equal(raw.received().readUInt16BE(8), 0, 'header_len 0')
  t.equal(hello.message.id, '1')
  checkEnvelope(t, hello.message)
  t.same(hello.message.result, {
    protocol_version: 1, wire_mode: 'binary_json', server_name: 'rstmdb', server_version: '0.1.0', features: ['idempotency', 'batch'],
  })
})

t.test('Rust HELLO without a client name sends client_name null: accepted', async t => {
  const c = await rawClientFor(t, server, { hello: false })
  const response = await c.request('HELLO', { protocol_version: 1, client_name: null, wire_modes: ['binary_json'], features: ['idempotency', 'batch'] })
  checkEnvelope(t, response)
  t.equal(resultOf(response).wire_mode, 'binary_json')
})

t.test('Java/.NET HELLO: singular wire_mode, no wire_modes, params left out of BYE/PING/INFO', async t => {
  for (const wireMode of ['binary_json', 'jsonl']) {
    const c = await rawClientFor(t, server, { hello: false })
    const hello = await c.request('HELLO', { protocol_version: 1, wire_mode: wireMode, client_name: 'java' })
    checkEnvelope(t, hello)
    // both SDKs switch framing to whatever wire_mode says; binary keeps them consistent
    t.same(resultOf(hello), { protocol_version: 1, wire_mode: 'binary_json', server_name: 'rstmdb', server_version: '0.1.0', features: [] })
    t.equal(c.messages.at(-1)?.mode, 'binary')
    t.same(resultOf(await c.request('PING')), { pong: true })
    const info = resultOf(await c.request('INFO'))
    t.ok(isUint(info.max_frame_bytes) && info.max_frame_bytes <= 2 ** 31 - 1, 'max_frame_bytes fits a Java/.NET int')
    t.ok(isUint(info.max_batch_ops))
    const bye = await c.request('BYE')
    t.same(resultOf(bye), { goodbye: true })
    t.ok(await within(c.closed, 5000), 'closed after the BYE response')
  }
})

t.test('responses carry the field types the SDK models declare', async t => {
  const c = await rawClientFor(t, server)
  const version = await instance(c, 'types-1')
  const applied = await c.request('APPLY_EVENT', { instance_id: 'types-1', event: 'PAY', payload: { amount: 7 }, event_id: 'e-1' })
  checkEnvelope(t, applied)
  const a = resultOf(applied)
  t.match(a, { from_state: 'pending', to_state: 'paid', ctx: { amount: 7 }, applied: true, event_id: 'e-1' })
  t.ok(isUint(a.wal_offset))

  const got = await c.request('GET_INSTANCE', { instance_id: 'types-1' })
  checkEnvelope(t, got)
  const g = resultOf(got)
  t.match(g, { machine: 'compat', version, state: 'paid', ctx: { amount: 7 }, last_event_id: 'e-1' })
  t.ok(isUint(g.last_wal_offset))

  resultOf(await c.request('APPLY_EVENT', { instance_id: 'types-1', event: 'SHIP' }))
  const noEventId = resultOf(await c.request('GET_INSTANCE', { instance_id: 'types-1' }))
  t.notOk('last_event_id' in noEventId, 'last_event_id left out, not null, when the last event had none')

  const list = await c.request('LIST_INSTANCES', { machine: 'compat', limit: 10, offset: 0 })
  checkEnvelope(t, list)
  const l = resultOf(list)
  t.type(l.has_more, 'boolean')
  t.ok(isUint(l.total))
  for (const row of l.instances) {
    t.same(Object.keys(row).sort(), ['created_at', 'id', 'last_wal_offset', 'machine', 'state', 'updated_at', 'version'])
    t.ok(isUint(row.created_at) && isUint(row.updated_at) && isUint(row.last_wal_offset) && isUint(row.version))
  }

  const machine = resultOf(await c.request('GET_MACHINE', { machine: 'compat', version }))
  t.type(machine.checksum, 'string')
  for (const transition of machine.definition.transitions) t.ok(Array.isArray(transition.from), 'from is an array (.NET/Java accept string or array)')
  const machines = resultOf(await c.request('LIST_MACHINES'))
  t.ok(machines.items.every((m: any) => typeof m.machine === 'string' && m.versions.every(isUint)))

  const snapshot = resultOf(await c.request('SNAPSHOT_INSTANCE', { instance_id: 'types-1' }))
  t.ok(typeof snapshot.snapshot_id === 'string' && isUint(snapshot.wal_offset) && isUint(snapshot.size_bytes))
  const compact = resultOf(await c.request('COMPACT', { force_snapshot: false }))
  for (const key of ['snapshots_created', 'segments_deleted', 'bytes_reclaimed', 'total_snapshots', 'wal_segments']) t.ok(isUint(compact[key]), key)
  const stats = resultOf(await c.request('WAL_STATS'))
  for (const key of ['entry_count', 'segment_count', 'total_size_bytes', 'latest_offset']) t.ok(isUint(stats[key]), key)
  for (const key of ['bytes_written', 'bytes_read', 'writes', 'reads', 'fsyncs']) t.ok(isUint(stats.io_stats[key]), key)
  const read = resultOf(await c.request('WAL_READ', { from_offset: 1, limit: 2 }))
  t.ok(isUint(read.next_offset))
  t.ok(read.records.every((r: any) => isUint(r.sequence) && r.offset === r.sequence && typeof r.entry === 'object'))
})

t.test('error bodies: one of the 16 codes, retryable always present, details an object or absent', async t => {
  const c = await rawClientFor(t, server)
  await instance(c, 'errors-1')
  const cases: Array<[string, unknown, string]> = [
    ['GET_INSTANCE', { instance_id: 'nope' }, 'INSTANCE_NOT_FOUND'],
    ['APPLY_EVENT', { instance_id: 'errors-1', event: 'SHIP' }, 'INVALID_TRANSITION'],
    ['APPLY_EVENT', { instance_id: 'errors-1', event: 'PAY', expected_state: 'paid' }, 'CONFLICT'],
    ['GET_MACHINE', { machine: 'compat', version: 999 }, 'MACHINE_NOT_FOUND'],
    ['CREATE_INSTANCE', { machine: 'compat', version: 1, instance_id: 'errors-1' }, 'INSTANCE_EXISTS'],
    ['LIST_INSTANCES', { limit: 'ten' }, 'BAD_REQUEST'],
  ]
  for (const [op, params, code] of cases) {
    const response = await c.request(op, params)
    checkEnvelope(t, response)
    t.equal(errorOf(response).code, code, op)
    t.equal(errorOf(response).retryable, false)
  }
})

t.test('ops only some SDKs know (FLUSH_ALL, REPLICATION_STATUS): BAD_REQUEST, connection stays usable', async t => {
  const c = await rawClientFor(t, server)
  for (const op of ['FLUSH_ALL', 'REPLICATION_STATUS']) {
    const response = await c.request(op, {})
    checkEnvelope(t, response)
    t.same(errorOf(response).details, { op })
  }
  t.same(resultOf(await c.request('PING', {})), { pong: true })
})

t.test('JS pipelines requests with string ids: every response matches its id, in order', async t => {
  const c = await rawClientFor(t, server)
  const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => c.request(i % 2 === 0 ? 'PING' : 'INFO')))
  const ids = c.messages.filter(m => m.message.type === 'response').slice(-50).map(m => m.message.id)
  t.same(ids, responses.map(r => r.id), 'written in request order')
  t.ok(responses.every(r => r.status === 'ok'))
})

t.test('batch results: status, result and error per slot, each error with retryable', async t => {
  const c = await rawClientFor(t, server)
  const version = await instance(c, 'batch-1')
  const batch = resultOf(await c.request('BATCH', {
    mode: 'best_effort',
    ops: [
      { op: 'APPLY_EVENT', params: { instance_id: 'batch-1', event: 'PAY' } },
      { op: 'APPLY_EVENT', params: { instance_id: 'missing', event: 'PAY' } },
      { op: 'CREATE_INSTANCE', params: { machine: 'compat', version } },
    ],
  }))
  t.equal(batch.results.length, 3)
  t.match(batch.results[0], { status: 'ok', result: { to_state: 'paid' }, error: null })
  t.match(batch.results[1], { status: 'error', result: null, error: { code: 'INSTANCE_NOT_FOUND', retryable: false } })
  t.type(batch.results[1].error.message, 'string')
  t.match(batch.results[2], { status: 'ok', error: null })
  t.type(batch.results[2].result.instance_id, 'string')
})

t.test('subscriptions: response before events, event fields, include_ctx, payload null', async t => {
  const c = await rawClientFor(t, server)
  await instance(c, 'watch-1')
  // Rust, Python, JS and .NET send include_ctx explicitly; .NET and Java default it to false
  const watch = await c.request('WATCH_INSTANCE', { instance_id: 'watch-1', include_ctx: false })
  checkEnvelope(t, watch)
  const w = resultOf(watch)
  t.match(w, { instance_id: 'watch-1', current_state: 'pending' })
  t.ok(typeof w.subscription_id === 'string' && isUint(w.current_wal_offset))
  const all = resultOf(await c.request('WATCH_ALL', { include_ctx: true, machines: ['compat'] }))
  t.ok(typeof all.subscription_id === 'string' && isUint(all.wal_offset))

  resultOf(await c.request('APPLY_EVENT', { instance_id: 'watch-1', event: 'PAY', payload: null }))
  const event = await c.waitFor(m => m.type === 'event' && m.subscription_id === w.subscription_id)
  // `at` is an extension field (history.md §6a); the SDKs skip fields they do not model, as they do `meta`
  t.same(Object.keys(event).sort(), ['at', 'event', 'from_state', 'instance_id', 'machine', 'payload', 'subscription_id', 'to_state', 'type', 'version', 'wal_offset'])
  t.notOk('kind' in event, 'no kind without include_lifecycle')
  t.equal(event.payload, null, 'payload null: every SDK models it as an optional object')
  t.ok(isUint(event.version) && isUint(event.wal_offset))
  const withCtx = await c.waitFor(m => m.type === 'event' && m.subscription_id === all.subscription_id)
  t.same(withCtx.ctx, { amount: 5 })

  const unwatch = resultOf(await c.request('UNWATCH', { subscription_id: w.subscription_id }))
  t.same(unwatch, { subscription_id: w.subscription_id, removed: true })
})

t.test('Java always sends from_offset (0 unless set): catch-up replays after the subscribe response', async t => {
  const c = await rawClientFor(t, server)
  await instance(c, 'java-watch')
  resultOf(await c.request('APPLY_EVENT', { instance_id: 'java-watch', event: 'PAY' }))
  const watch = await c.request('WATCH_INSTANCE', { instance_id: 'java-watch', include_ctx: false, from_offset: 0 })
  const sid = resultOf(watch).subscription_id
  const event = await c.waitFor(m => m.type === 'event' && m.subscription_id === sid)
  t.match(event, { instance_id: 'java-watch', event: 'PAY', to_state: 'paid' })
  const order = c.messages.map(m => m.message)
  t.ok(order.indexOf(watch) < order.indexOf(event), 'response written before the first event (SDKs register the subscription on the response)')
})

t.test('empty WAL: latest_offset and next_offset are null (spec §6.18/§6.19)', async t => {
  const fresh = await startServer(t)
  const c = await rawClientFor(t, fresh)
  t.equal(resultOf(await c.request('WAL_STATS')).latest_offset, null)
  t.equal(resultOf(await c.request('WAL_READ', { from_offset: 0 })).next_offset, null)
  // the JS SDK's walRead sends camelCase fromOffset as a string: a missing from_offset
  t.same(errorOf(await c.request('WAL_READ', { fromOffset: '0' })).details, { field: 'from_offset' })
})

t.test('auth required: the SDKs AUTH shapes', async t => {
  const token = 'sdk-token'
  const hash = hashToken(token)
  const secured = await startServer(t, { env: { RSTMDB_AUTH_REQUIRED: 'true', RSTMDB_AUTH_TOKEN_HASH: hash } })

  const c = await rawClientFor(t, secured)
  const before = await c.request('LIST_MACHINES', {})
  checkEnvelope(t, before)
  t.equal(errorOf(before).code, 'UNAUTHORIZED')
  t.same(resultOf(await c.request('PING')), { pong: true }, 'PING allowed before AUTH')
  // Rust, Python, JS and .NET
  const auth = await c.request('AUTH', { method: 'bearer', token })
  checkEnvelope(t, auth)
  t.same(resultOf(auth), { authenticated: true })
  t.same(resultOf(await c.request('LIST_MACHINES', {})), { items: [] })

  // the Java SDK leaves out `method`, which rcp.md §6.2 requires (the original server too)
  const java = await rawClientFor(t, secured)
  const noMethod = await java.request('AUTH', { token })
  checkEnvelope(t, noMethod)
  t.same(errorOf(noMethod).details, { field: 'method' })
  const wrong = await java.request('AUTH', { method: 'bearer', token: 'nope' })
  t.match(errorOf(wrong), { code: 'AUTH_FAILED', retryable: false })
})
