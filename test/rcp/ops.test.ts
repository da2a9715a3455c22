import t from 'tap'
import { ERROR_CODES } from '../../protocol/errors.js'
import { clientFor, loose, rejected } from '../support/client.js'
import { ORDER } from '../support/machines.js'
import { rawClientFor } from '../support/raw-client.js'
import { startServer } from '../support/server.js'
import { errorOf, resultOf, within } from './helpers.js'

const server = await startServer(t, { env: { RSTMDB_MAX_MACHINE_VERSIONS: '2' } })
/** every message this client receives, for the checks of the envelope at the end */
const received: any[] = []
const c = loose(await clientFor(t, server, { trace: (direction, message) => { if (direction === 'received') received.push(message) } }))
/** for what the SDK never sends: malformed envelopes */
const e = await rawClientFor(t, server)
const canonicalChecksum = 'e26bd76d2d47a0e33a2aa0515665f980072d3734d466edfbee31be3c6c311446'
const SMALL = { states: ['pending', 'paid'], initial: 'pending', transitions: [{ from: 'pending', event: 'PAY', to: 'paid' }] }

t.test('PUT_MACHINE, GET_MACHINE, LIST_MACHINES, VALIDATE_MACHINE', async t => {
  const put = await c.requestWithMeta('PUT_MACHINE', { machine: 'small', version: 1, definition: SMALL, checksum: canonicalChecksum.toUpperCase() })
  t.same(put.result, { machine: 'small', version: 1, stored_checksum: canonicalChecksum, created: true })
  t.ok(put.meta.wal_offset > 0, 'meta.wal_offset is the record written')
  const again = await c.requestWithMeta('PUT_MACHINE', { machine: 'small', version: 1, definition: SMALL })
  t.equal(again.result.created, false)
  t.equal(again.meta.wal_offset, put.meta.wal_offset, 'nothing new written')

  const exists = await rejected(c.request('PUT_MACHINE', { machine: 'small', version: 1, definition: ORDER }))
  t.equal(exists.code, 'MACHINE_VERSION_EXISTS')
  t.same(exists.details, { machine: 'small', version: 1, stored_checksum: canonicalChecksum })

  const mismatch = await rejected(c.request('PUT_MACHINE', { machine: 'small', version: 2, definition: SMALL, checksum: 'ab'.repeat(32) }))
  t.equal(mismatch.code, 'BAD_REQUEST')
  t.match(mismatch.details, { expected: 'ab'.repeat(32), actual: canonicalChecksum })

  t.equal((await c.request('PUT_MACHINE', { machine: 'small', version: 2, definition: ORDER })).created, true)
  const limit = await rejected(c.request('PUT_MACHINE', { machine: 'small', version: 3, definition: ORDER }))
  t.equal(limit.code, 'MACHINE_VERSION_LIMIT_EXCEEDED')
  t.same(limit.details, { machine: 'small', limit: 2, versions: 2 })

  const invalid = await rejected(c.request('PUT_MACHINE', { machine: 'bad', version: 1, definition: { states: ['a', 'a'], initial: 'b', transitions: [{ from: 'c', event: '', to: 'd' }] } }))
  t.equal(invalid.code, 'BAD_REQUEST')
  t.ok(invalid.details.errors.length >= 2, 'every problem listed')
  const guard = await rejected(c.request('PUT_MACHINE', {
    machine: 'bad', version: 1, definition: { ...SMALL, transitions: [{ from: 'pending', event: 'PAY', to: 'paid', guard: 'foo()' }] },
  }))
  t.equal(guard.code, 'BAD_REQUEST')
  t.match(guard.details, { field: 'transitions[0].guard', transition_index: 0, guard: 'foo()' })
  const longName = await rejected(c.request('PUT_MACHINE', { machine: 'm'.repeat(257), version: 1, definition: SMALL }))
  t.equal(longName.details.field, 'machine')
  t.equal((await rejected(c.request('PUT_MACHINE', { machine: 'x', version: 0, definition: SMALL }))).details.field, 'version')
  t.equal((await rejected(c.request('PUT_MACHINE', { machine: 'x', version: 1.5, definition: SMALL }))).details.field, 'version')

  t.match(await c.request('GET_MACHINE', { machine: 'small', version: 1 }), { machine: 'small', version: 1, checksum: canonicalChecksum, definition: { initial: 'pending' } })
  t.match(await c.request('GET_MACHINE', { machine: 'small' }), { version: 2 })
  const missing = await rejected(c.request('GET_MACHINE', { machine: 'small', version: 9 }))
  t.equal(missing.code, 'MACHINE_NOT_FOUND')
  t.same(missing.details, { machine: 'small', version: 9 })

  t.equal((await c.request('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })).created, true)
  t.same(await c.request('LIST_MACHINES'), { items: [{ machine: 'order', versions: [1] }, { machine: 'small', versions: [1, 2] }] })

  const valid = await c.request('VALIDATE_MACHINE', { definition: SMALL })
  t.match(valid, { valid: true, checksum: canonicalChecksum, normalized: { from: undefined, initial: 'pending' } })
  const notValid = await rejected(c.request('VALIDATE_MACHINE', { definition: { states: ['a'], initial: 'b', transitions: [{ from: 'a', event: '', to: 'c' }] } }))
  t.equal(notValid.code, 'BAD_REQUEST')
  t.ok(notValid.details.errors.length >= 3)
})

t.test('CREATE_INSTANCE, GET_INSTANCE, LIST_INSTANCES, DELETE_INSTANCE', async t => {
  const created = await c.requestWithMeta('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { amount: 5 } })
  t.same(created.result, { instance_id: 'o-1', state: 'pending', wal_offset: created.meta.wal_offset })
  const generated = await c.request('CREATE_INSTANCE', { machine: 'order', version: 1, initial_ctx: null })
  t.match(generated.instance_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)

  const replay1 = await c.requestWithMeta('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-2', idempotency_key: 'k1' })
  const replay2 = await c.requestWithMeta('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-2', idempotency_key: 'k1' })
  t.same(replay2.result, replay1.result, 'idempotent replay returns the original result')
  t.equal(replay2.meta.wal_offset, replay1.meta.wal_offset, 'and the original offset')

  const exists = await rejected(c.request('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1' }))
  t.equal(exists.code, 'INSTANCE_EXISTS')
  t.same(exists.details, { instance_id: 'o-1', deleted: false })
  const noMachine = await rejected(c.request('CREATE_INSTANCE', { machine: 'nope', version: 1 }))
  t.equal(noMachine.code, 'MACHINE_NOT_FOUND')
  t.same(noMachine.details, { machine: 'nope', version: 1 })
  t.equal((await rejected(c.request('CREATE_INSTANCE', { machine: 'order', version: 1, initial_ctx: [1] }))).details.field, 'initial_ctx')
  t.equal((await rejected(c.request('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: '' }))).details.field, 'instance_id')

  t.match(await c.request('GET_INSTANCE', { instance_id: 'o-1' }), { instance_id: 'o-1', machine: 'order', version: 1, state: 'pending', ctx: { amount: 5 }, last_wal_offset: created.meta.wal_offset })
  const notFound = await rejected(c.request('GET_INSTANCE', { instance_id: 'ghost' }))
  t.equal(notFound.code, 'INSTANCE_NOT_FOUND')
  t.same(notFound.details, { instance_id: 'ghost' })

  const listed = await c.request('LIST_INSTANCES', { machine: 'order', limit: 2 })
  t.equal(listed.total, 3)
  t.equal(listed.instances.length, 2)
  t.equal(listed.has_more, true)
  const ids = (await c.request('LIST_INSTANCES', {})).instances.map((i: any) => i.id)
  t.same(ids, [...ids].sort(), 'sorted by id')
  const after = await c.request('LIST_INSTANCES', { after: 'o-1' })
  t.ok(after.instances.every((i: any) => i.id > 'o-1'))
  t.same((await c.request('LIST_INSTANCES', { state: 'paid' })).instances, [])
  t.equal((await rejected(c.request('LIST_INSTANCES', { limit: -1 }))).details.field, 'limit')

  const del = await c.requestWithMeta('DELETE_INSTANCE', { instance_id: 'o-2', idempotency_key: 'd1' })
  t.same(del.result, { instance_id: 'o-2', deleted: true, wal_offset: del.meta.wal_offset })
  const delAgain = await c.requestWithMeta('DELETE_INSTANCE', { instance_id: 'o-2' })
  t.equal(delAgain.result.wal_offset, del.meta.wal_offset, 'an already deleted instance reports the original delete')
  t.same(await c.request('DELETE_INSTANCE', { instance_id: 'o-2', idempotency_key: 'd1' }), del.result)
  t.equal((await rejected(c.request('DELETE_INSTANCE', { instance_id: 'ghost' }))).code, 'INSTANCE_NOT_FOUND')
  t.equal((await rejected(c.request('GET_INSTANCE', { instance_id: 'o-2' }))).code, 'INSTANCE_NOT_FOUND')
  const reuse = await rejected(c.request('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-2' }))
  t.same(reuse.details, { instance_id: 'o-2', deleted: true })
})

t.test('APPLY_EVENT and its errors', async t => {
  await c.request('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'a-1', initial_ctx: { amount: 0 } })
  const guard = await rejected(c.request('APPLY_EVENT', { instance_id: 'a-1', event: 'PAY' }))
  t.equal(guard.code, 'GUARD_FAILED')
  t.same(guard.details, { instance_id: 'a-1', current_state: 'pending', event: 'PAY', guards: ['ctx.amount > 0'] })
  const invalid = await rejected(c.request('APPLY_EVENT', { instance_id: 'a-1', event: 'SHIP' }))
  t.equal(invalid.code, 'INVALID_TRANSITION')
  t.same(invalid.details, { instance_id: 'a-1', current_state: 'pending', event: 'SHIP' })
  const state = await rejected(c.request('APPLY_EVENT', { instance_id: 'a-1', event: 'CANCEL', expected_state: 'paid' }))
  t.equal(state.code, 'CONFLICT')
  t.same(state.details, { instance_id: 'a-1', expected_state: 'paid', actual_state: 'pending' })
  t.match(await c.request('APPLY_EVENT', { instance_id: 'a-1', event: 'NOTE', payload: { amount: 9 } }), { from_state: 'pending', to_state: 'pending' })
  const current = await c.request('GET_INSTANCE', { instance_id: 'a-1' })
  const offset = await rejected(c.request('APPLY_EVENT', { instance_id: 'a-1', event: 'CANCEL', expected_wal_offset: current.last_wal_offset + 1000 }))
  t.equal(offset.code, 'CONFLICT')
  t.same(offset.details, { instance_id: 'a-1', expected_offset: current.last_wal_offset + 1000, actual_offset: current.last_wal_offset })
  t.equal((await rejected(c.request('APPLY_EVENT', { instance_id: 'ghost', event: 'PAY' }))).code, 'INSTANCE_NOT_FOUND')
  t.equal((await rejected(c.request('APPLY_EVENT', { instance_id: 'a-1', event: 'PAY', payload: 'x' }))).details.field, 'payload')
  t.equal((await rejected(c.request('APPLY_EVENT', { instance_id: 'a-1', event: 'e'.repeat(257) }))).details.field, 'event')

  const pay = {
    instance_id: 'a-1', event: 'PAY', payload: { note: null }, expected_state: 'pending', expected_wal_offset: current.last_wal_offset, event_id: 'evt-1', idempotency_key: 'pay-1',
  }
  const applied = await c.requestWithMeta('APPLY_EVENT', pay)
  t.same(applied.result, { from_state: 'pending', to_state: 'paid', ctx: { amount: 9, note: null }, wal_offset: applied.meta.wal_offset, applied: true, event_id: 'evt-1' })
  const replay = await c.requestWithMeta('APPLY_EVENT', pay)
  t.same(replay.result, { ...applied.result, applied: false })
  t.equal(replay.meta.wal_offset, applied.meta.wal_offset)
  t.match(await c.request('GET_INSTANCE', { instance_id: 'a-1' }), { state: 'paid', last_event_id: 'evt-1', last_wal_offset: applied.meta.wal_offset })
})

t.test('BATCH in both modes', async t => {
  t.same(await c.request('BATCH', { ops: [] }), { results: [] })
  const best = await c.request('BATCH', {
    mode: 'best_effort',
    ops: [
      { op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'b-1', initial_ctx: { amount: 1 } } },
      { op: 'APPLY_EVENT', params: { instance_id: 'ghost', event: 'PAY' } },
      { op: 'APPLY_EVENT', params: { instance_id: 'b-1', event: 'PAY' } },
    ],
  })
  t.equal(best.results.length, 3)
  t.match(best.results[0], { status: 'ok', result: { instance_id: 'b-1', state: 'pending' }, error: null })
  t.match(best.results[1], { status: 'error', result: null, error: { code: 'INSTANCE_NOT_FOUND', retryable: false } })
  t.match(best.results[2], { status: 'ok', result: { to_state: 'paid' } })

  const before = (await c.request('WAL_STATS')).latest_offset
  const failed = await rejected(c.request('BATCH', {
    mode: 'atomic',
    ops: [
      { op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'b-2', initial_ctx: { amount: 1 } } },
      { op: 'APPLY_EVENT', params: { instance_id: 'b-2', event: 'SHIP' } },
    ],
  }))
  t.equal(failed.code, 'INVALID_TRANSITION')
  t.match(failed.message, /^atomic batch failed at op 1 \(APPLY_EVENT\): /)
  t.match(failed.details, { batch_index: 1, batch_op: 'APPLY_EVENT', instance_id: 'b-2' })
  t.equal((await rejected(c.request('GET_INSTANCE', { instance_id: 'b-2' }))).code, 'INSTANCE_NOT_FOUND', 'nothing written')
  t.equal((await c.request('WAL_STATS')).latest_offset, before)

  const atomic = await c.request('BATCH', {
    mode: 'atomic',
    ops: [
      { op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'b-2', initial_ctx: { amount: 1 } } },
      { op: 'APPLY_EVENT', params: { instance_id: 'b-2', event: 'PAY' } },
    ],
  })
  t.match(atomic.results, [{ status: 'ok', result: { instance_id: 'b-2' } }, { status: 'ok', result: { to_state: 'paid' } }])

  const structure = await rejected(c.request('BATCH', { ops: [{ op: 'CREATE_INSTANCE', params: {} }, { op: 'VALIDATE_MACHINE', params: {} }] }))
  t.equal(structure.code, 'BAD_REQUEST')
  t.equal(structure.details.batch_index, 1)
  const tooMany = await rejected(c.request('BATCH', { ops: Array.from({ length: 101 }, () => ({ op: 'DELETE_INSTANCE', params: { instance_id: 'x' } })) }))
  t.equal(tooMany.code, 'BAD_REQUEST')
  t.equal((await rejected(c.request('BATCH', { mode: 'sometimes', ops: [] }))).details.field, 'mode')
})

t.test('WATCH_INSTANCE, WATCH_ALL, UNWATCH', async t => {
  const inst = await c.request('GET_INSTANCE', { instance_id: 'a-1' })
  const w = await c.requestWithMeta('WATCH_INSTANCE', { instance_id: 'a-1', include_ctx: false })
  t.match(w.result, { subscription_id: /^sub-/, instance_id: 'a-1', current_state: 'paid', current_wal_offset: inst.last_wal_offset })
  t.equal((await rejected(c.request('WATCH_INSTANCE', { instance_id: 'ghost' }))).code, 'INSTANCE_NOT_FOUND')
  const all = await c.requestWithMeta('WATCH_ALL', { machines: ['order'] })
  t.equal(all.result.wal_offset, all.meta.wal_offset)
  t.equal((await rejected(c.request('WATCH_ALL', { machines: 'order' }))).details.field, 'machines')
  t.same(await c.request('UNWATCH', { subscription_id: w.result.subscription_id }), { subscription_id: w.result.subscription_id, removed: true })
  t.same(await c.request('UNWATCH', { subscription_id: w.result.subscription_id }), { subscription_id: w.result.subscription_id, removed: false })
  const other = loose(await clientFor(t, server))
  t.equal((await other.request('UNWATCH', { subscription_id: all.result.subscription_id })).removed, false, 'not this connection\'s subscription')
  t.equal((await c.request('UNWATCH', { subscription_id: all.result.subscription_id })).removed, true)
  t.equal((await rejected(c.request('UNWATCH', {}))).details.field, 'subscription_id')
})

t.test('SNAPSHOT_INSTANCE, WAL_READ, WAL_STATS, COMPACT, INFO, PING', async t => {
  const inst = await c.request('GET_INSTANCE', { instance_id: 'a-1' })
  const snap = await c.requestWithMeta('SNAPSHOT_INSTANCE', { instance_id: 'a-1' })
  t.match(snap.result, { instance_id: 'a-1', snapshot_id: /^snap-/, wal_offset: inst.last_wal_offset, size_bytes: Number, checksum: /^[0-9a-f]{64}$/ })
  t.equal(snap.meta.wal_offset, inst.last_wal_offset)
  t.equal((await rejected(c.request('SNAPSHOT_INSTANCE', { instance_id: 'ghost' }))).code, 'INSTANCE_NOT_FOUND')

  const read = await c.request('WAL_READ', { from_offset: 1, limit: 3 })
  t.equal(read.records.length, 3)
  t.same(read.records.map((r: any) => r.sequence), [1, 2, 3])
  t.ok(read.records.every((r: any) => r.offset === r.sequence && typeof r.entry.type === 'string'))
  t.equal(read.records[0].entry.type, 'put_machine')
  t.equal(read.next_offset, 4)
  t.equal(read.earliest_offset, 1)
  const head = read.head_offset
  t.same((await c.request('WAL_READ', { from_offset: head + 1 })).records, [])
  t.equal((await c.request('WAL_READ', { from_offset: head + 1 })).next_offset, null)
  t.equal((await c.request('WAL_READ', { from_offset: 1, limit: 5000 })).records.length, head, 'clamped, all there')
  t.equal((await rejected(c.request('WAL_READ', { from_offset: 1, limit: 0 }))).code, 'BAD_REQUEST')
  t.equal((await rejected(c.request('WAL_READ', {}))).details.field, 'from_offset')

  t.match(await c.request('WAL_STATS'), {
    entry_count: Number,
    segment_count: Number,
    total_size_bytes: Number,
    latest_offset: head,
    earliest_offset: 1,
    fsync_policy: String,
    io_stats: { bytes_written: Number, bytes_read: Number, writes: Number, reads: Number, fsyncs: Number },
  })
  t.match(await c.request('COMPACT', { force_snapshot: true }), {
    snapshots_created: Number, segments_deleted: Number, bytes_reclaimed: Number, total_snapshots: Number, wal_segments: Number,
  })
  t.equal((await rejected(c.request('COMPACT', { force_snapshot: 'yes' }))).details.field, 'force_snapshot')
  t.match(await c.request('INFO'), {
    server_name: 'rstmdb',
    server_version: '0.1.0',
    protocol_version: 1,
    features: ['idempotency', 'batch', 'wal_read', 'watch_replay', 'diagram', 'history', 'transitions', 'dry_run', 'lifecycle_events'],
    max_frame_bytes: 16777216,
    max_batch_ops: 100,
    uptime_secs: Number,
    wal_offset: head,
    machines: 3,
    connections: Number,
  })
  t.same(await c.request('PING'), { pong: true })
})

t.test('envelope errors and trace_id', async t => {
  const traced = await c.requestWithMeta('PING', undefined, { traceId: 'trace-42' })
  t.equal(traced.meta.trace_id, 'trace-42')
  t.equal((await c.requestWithMeta('PING')).meta.trace_id, undefined, 'only when the request carried one')
  // an error response has meta too: read it off the wire
  await rejected(c.request('GET_INSTANCE', { instance_id: 'ghost' }, { traceId: 't-err' }))
  const tracedError = received.findLast(m => m.type === 'response' && m.status === 'error')
  t.equal(tracedError.meta.trace_id, 't-err')

  const noId = e.waitFor(m => m.type === 'response' && m.id === '' && m.error?.details?.field === 'id')
  e.send({ op: 'PING' })
  t.equal(errorOf(await noId).code, 'BAD_REQUEST')
  const longId = 'i'.repeat(257)
  e.send({ id: longId, op: 'PING' })
  t.equal((await e.waitFor(m => m.type === 'response' && m.id === '' && m.error?.details?.field === 'id' && m !== (e.messages.find(x => x.message.id === '')?.message))).id, '')
  const okId = 'é'.repeat(128)
  const ok256 = e.waitFor(m => m.id === okId)
  e.send({ id: okId, op: 'PING' })
  t.same(resultOf(await ok256), { pong: true }, 'a 256-byte id is fine')

  const unknown = await rejected(c.request('FLY'))
  t.equal(unknown.code, 'BAD_REQUEST')
  t.same(unknown.details, { op: 'FLY' })
  t.equal((await rejected(c.request('ping'))).details.op, 'ping', 'op names are case-sensitive')
  t.equal(errorOf(await e.request('PING', undefined, { type: 'reply' })).details.field, 'type')
  t.equal((await rejected(c.request('PING', [1]))).details.field, 'params')
  t.same(await c.request('PING', null), { pong: true }, 'null params are {}')
  t.same(resultOf(await e.request('PING', {}, { extra: 1 })), { pong: true }, 'unknown envelope fields are ignored')
  t.equal((await rejected(c.request('PING', undefined, { traceId: 't'.repeat(257) }))).details.field, 'trace_id')
  t.same(await c.request('PING'), { pong: true }, 'the connection is still open')
  t.same(resultOf(await e.request('PING')), { pong: true }, 'and so is the one that sent the malformed envelopes')
})

t.test('responses leave in request order under pipelining; writes are decided in arrival order', async t => {
  const sent: string[] = []
  const answered: string[] = []
  const p = loose(await clientFor(t, server, {
    trace: (direction, message) => {
      if (direction === 'sent') sent.push(message.id as string)
      else if (message.type === 'response') answered.push(message.id as string)
    },
  }))
  await p.request('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'pipe', initial_ctx: { amount: 1 } })
  const ops: Array<[string, unknown]> = []
  for (let i = 0; i < 100; i++) {
    ops.push(['APPLY_EVENT', { instance_id: 'pipe', event: i % 2 === 0 ? 'PAY' : 'NOTE' }])
    ops.push(['GET_INSTANCE', { instance_id: 'pipe' }])
    ops.push(['PING', {}])
    ops.push(['WAL_READ', { from_offset: 1, limit: 2 }])
  }
  const start = sent.length
  const answeredBefore = answered.length
  const all = ops.map(async ([op, params]): Promise<any> => await p.request(op, params).then(result => ({ status: 'ok', result }), error => ({ status: 'error', error })))
  const responses = await Promise.all(all)
  const ids = sent.slice(start)
  const order = answered.slice(answeredBefore)
  t.equal(ids.length, 400, 'every request sent')
  t.same(order, ids, 'responses in request order')
  let ok = true
  for (let i = 0; i < 100; i++) {
    const apply = responses[i * 4]
    const get = responses[i * 4 + 1]
    if (apply.status !== 'ok' || get.result.state !== apply.result.to_state) ok = false
  }
  t.ok(ok, 'each GET saw the APPLY_EVENT decided just before it')
})

t.test('every response carries meta; only codes of §11 with the right retryable flag', async t => {
  const responses = [...received, ...e.messages.map(m => m.message)].filter(m => m.type === 'response')
  t.ok(responses.length > 50, `${responses.length} responses checked`)
  const bad = responses.filter(r => typeof r.meta?.server_time !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(r.meta.server_time) ||
    r.meta.leader !== true || !Number.isSafeInteger(r.meta.wal_offset))
  t.same(bad, [])
  const errors = responses.filter(r => r.status === 'error')
  t.ok(errors.every(r => (ERROR_CODES as readonly string[]).includes(r.error.code) && r.result === undefined))
  t.ok(errors.every(r => r.error.retryable === ['WAL_IO_ERROR', 'INTERNAL_ERROR', 'RATE_LIMITED'].includes(r.error.code)))
  t.ok(responses.filter(r => r.status === 'ok').every(r => r.error === undefined && typeof r.result === 'object' && !Array.isArray(r.result)))
  const seen = new Set(errors.map(r => r.error.code))
  for (const code of ['BAD_REQUEST', 'NOT_FOUND', 'MACHINE_NOT_FOUND', 'MACHINE_VERSION_EXISTS', 'MACHINE_VERSION_LIMIT_EXCEEDED', 'INSTANCE_NOT_FOUND',
    'INSTANCE_EXISTS', 'INVALID_TRANSITION', 'GUARD_FAILED', 'CONFLICT']) {
    if (code === 'NOT_FOUND') continue // offset_compacted: subscriptions.test.ts
    t.ok(seen.has(code), `${code} was exercised`)
  }
})

t.test('BYE answers, then closes', async t => {
  const b = await rawClientFor(t, server)
  await b.request('WATCH_ALL', {})
  t.same(resultOf(await b.request('BYE')), { goodbye: true })
  t.ok(await within(b.closed, 5000))
  t.equal(b.messages.filter(m => m.message.type === 'subscription_end').length, 0, 'no end notice on BYE')
})
