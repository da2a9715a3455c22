import t from 'tap'
import type { OpName } from '../../protocol/schemas.js'
import { ORDER } from '../support/machines.js'
import { tempDir } from '../support/temp-dir.js'
import { call, openDb } from './helpers.js'

t.test('data ops over the dispatcher', async (t) => {
  const dir = tempDir(t)
  const db = await openDb(dir)
  t.teardown(() => db.close())
  const d = db

  const put = await d.dispatch('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  t.equal(put.result.created, true)
  t.equal(put.walOffset, 1)
  const again = await d.dispatch('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  t.equal(again.result.created, false)
  await t.rejects(d.dispatch('PUT_MACHINE', { machine: 'order', version: 1, definition: { ...ORDER, initial: 'paid' } }), { code: 'MACHINE_VERSION_EXISTS' })
  t.match(await call(db, 'GET_MACHINE', { machine: 'order', version: 1 }), { checksum: put.result.stored_checksum })
  t.same(await call(db, 'LIST_MACHINES'), { items: [{ machine: 'order', versions: [1] }] })
  await t.rejects(d.dispatch('GET_MACHINE', { machine: 'nope', version: 1 }), { code: 'MACHINE_NOT_FOUND' })

  const created = await d.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { amount: 0 }, idempotency_key: 'c1' })
  t.match(created, { result: { instance_id: 'o-1', state: 'pending', wal_offset: 2 }, walOffset: 2 })
  const replay = await d.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { amount: 0 }, idempotency_key: 'c1' })
  t.equal(replay.walOffset, 2)
  await t.rejects(d.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1' }), { code: 'INSTANCE_EXISTS' })
  await t.rejects(d.dispatch('CREATE_INSTANCE', { machine: 'order', version: 9 }), { code: 'MACHINE_NOT_FOUND' })
  await t.rejects(d.dispatch('CREATE_INSTANCE', { machine: 'order' }), { code: 'BAD_REQUEST', details: { field: 'version' } })

  await t.rejects(d.dispatch('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY' }), { code: 'GUARD_FAILED' })
  await t.rejects(d.dispatch('APPLY_EVENT', { instance_id: 'o-1', event: 'SHIP' }), { code: 'INVALID_TRANSITION' })
  await t.rejects(d.dispatch('APPLY_EVENT', { instance_id: 'o-1', event: 'CANCEL', expected_state: 'paid' }), { code: 'CONFLICT' })
  await t.rejects(d.dispatch('APPLY_EVENT', { instance_id: 'zz', event: 'PAY' }), { code: 'INSTANCE_NOT_FOUND' })
  const paid = await d.dispatch('APPLY_EVENT', { instance_id: 'o-1', event: 'NOTE', payload: { amount: 5 }, event_id: 'e1' })
  t.match(paid.result, { from_state: 'pending', to_state: 'pending', ctx: { amount: 5 }, applied: true, wal_offset: 3 })
  const pay = await d.dispatch('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', idempotency_key: 'p1' })
  t.equal(pay.result.to_state, 'paid')
  const payAgain = await d.dispatch('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', idempotency_key: 'p1' })
  t.match(payAgain, { result: { applied: false, to_state: 'paid' }, walOffset: pay.walOffset })
  t.match(await call(db, 'GET_INSTANCE', { instance_id: 'o-1' }), { state: 'paid', ctx: { amount: 5 }, last_wal_offset: 4 })
  t.match(await call(db, 'LIST_INSTANCES', {}), { total: 1 })

  const batch = await d.dispatch('BATCH', {
    mode: 'atomic',
    ops: [
      { op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'o-2', initial_ctx: { amount: 1 } } },
      { op: 'APPLY_EVENT', params: { instance_id: 'o-2', event: 'PAY' } },
    ],
  })
  t.equal((batch.result.results as unknown[]).length, 2)
  t.equal(batch.walOffset, 6)
  await t.rejects(d.dispatch('BATCH', {
    mode: 'atomic',
    ops: [
      { op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'o-3' } },
      { op: 'APPLY_EVENT', params: { instance_id: 'o-3', event: 'SHIP' } },
    ],
  }), { code: 'INVALID_TRANSITION', details: { batch_index: 1 } })
  await t.rejects(call(db, 'GET_INSTANCE', { instance_id: 'o-3' }), { code: 'INSTANCE_NOT_FOUND' })

  const del = await d.dispatch('DELETE_INSTANCE', { instance_id: 'o-2' })
  t.match(del.result, { deleted: true, wal_offset: 7 })
  const delAgain = await d.dispatch('DELETE_INSTANCE', { instance_id: 'o-2' })
  t.equal(delAgain.walOffset, 7)

  const snap = await call(db, 'SNAPSHOT_INSTANCE', { instance_id: 'o-1' })
  t.match(snap, { instance_id: 'o-1', wal_offset: 4, size_bytes: Number, checksum: /^[0-9a-f]{64}$/ })
  await t.rejects(call(db, 'SNAPSHOT_INSTANCE', { instance_id: 'o-2' }), { code: 'INSTANCE_NOT_FOUND' })

  const wr = await call(db, 'WAL_READ', { from_offset: 0, limit: 3 })
  t.same((wr.records as Array<{ sequence: number }>).map((r) => r.sequence), [1, 2, 3])
  t.match(wr, { next_offset: 4, earliest_offset: 1, head_offset: 7 })
  t.match(await call(db, 'WAL_READ', { from_offset: 100 }), { records: [], next_offset: null })
  await t.rejects(call(db, 'WAL_READ', { from_offset: 1, limit: 0 }), { code: 'BAD_REQUEST' })
  t.match(await call(db, 'WAL_STATS'), { entry_count: 7, segment_count: 1, latest_offset: 7, earliest_offset: 1, fsync_policy: 'every_write' })
  t.match(await call(db, 'VALIDATE_MACHINE', { definition: ORDER }), { valid: true })
  t.match((await db.dispatch('INFO', {}, { connections: 3 })).result, { server_name: 'rstmdb', connections: 3, machines: 1, instances: 1, wal_offset: 7 })

  for (const op of ['HELLO', 'AUTH', 'PING', 'BYE', 'WATCH_ALL', 'WATCH_INSTANCE', 'UNWATCH', 'NOPE']) {
    await t.rejects(d.dispatch(op as OpName, {}), { code: 'BAD_REQUEST', details: { op } }, op)
  }
  t.equal(d.head(), 7)
})

t.test('compaction then restart gives identical state; WAL_READ after compaction', async (t) => {
  const dir = tempDir(t)
  // no history retention: segments go as soon as the older snapshot covers them
  const opts = { segmentSizeBytes: 2048, storage: { history_retention_secs: 0 } }
  const db = await openDb(dir, opts)
  const d = db
  await d.dispatch('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  for (let i = 0; i < 60; i++) {
    await d.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `o-${i}`, initial_ctx: { amount: i }, idempotency_key: `k${i}` })
    if (i % 3 === 0) await d.dispatch('APPLY_EVENT', { instance_id: `o-${i}`, event: 'CANCEL', idempotency_key: `a${i}` })
  }
  await d.dispatch('DELETE_INSTANCE', { instance_id: 'o-5' })
  const first = await call(db, 'COMPACT', {})
  t.match(first, { snapshots_created: 59, segments_deleted: 0 })
  for (let i = 60; i < 80; i++) await d.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `o-${i}` })
  const second = await call(db, 'COMPACT', {})
  t.equal(second.snapshots_created, 20)
  t.ok((second.segments_deleted as number) > 0, 'segments covered by the older snapshot deleted')
  t.ok((second.bytes_reclaimed as number) > 0)
  t.equal(second.total_snapshots, 79)
  const stats = await call(db, 'WAL_STATS')
  t.equal(stats.segment_count, second.wal_segments)
  const earliest = stats.earliest_offset as number
  t.ok(earliest > 1)
  const wr = await call(db, 'WAL_READ', { from_offset: 1, limit: 5 })
  t.equal((wr.records as Array<{ sequence: number }>)[0].sequence, earliest, 'reading starts at the oldest retained record')
  const before = await call(db, 'LIST_INSTANCES', { limit: 1000 })
  const one = await call(db, 'GET_INSTANCE', { instance_id: 'o-3' })
  await db.close()

  const db2 = await openDb(dir, opts)
  t.teardown(() => db2.close())
  t.same(await call(db2, 'LIST_INSTANCES', { limit: 1000 }), before)
  t.same(await call(db2, 'GET_INSTANCE', { instance_id: 'o-3' }), one)
  t.match(await db2.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { amount: 1 }, idempotency_key: 'k1' }), { result: { instance_id: 'o-1' } }, 'idempotency survives snapshot + compaction')
  await t.rejects(db2.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-5' }), { code: 'INSTANCE_EXISTS' }, 'tombstone survives')
  t.equal(db2.report.snapshot_sequence, (await call(db2, 'WAL_STATS')).latest_offset)
})
