import t from 'tap'
import { rejected } from '../support/client.js'
import { ORDER } from '../support/machines.js'
import { tempDir } from '../support/temp-dir.js'
import { call, openDb } from '../ops/helpers.js'
import type { HistoryResult } from './helpers.js'

/**
 * storage.history_retention_secs (history.md §1): compaction deletes a segment only once a
 * snapshot generation covers it AND its newest record is older than the retention. Time is
 * the database's injectable clock: entries carry its `ts`, compaction asks it for `now`.
 */

const START = Date.UTC(2025, 0, 15, 10, 30)
const RETENTION_SECS = 60

type Db = Awaited<ReturnType<typeof openDb>>

/** A machine, instance o-1 with 30 events, and a filler instance: two compactions need a write between them to make two generations. */
async function setUp (db: Db): Promise<number[]> {
  await call(db, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await call(db, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'filler' })
  const offsets = [(await call(db, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1' })).wal_offset as number]
  for (let i = 0; i < 30; i++) offsets.push((await call(db, 'APPLY_EVENT', { instance_id: 'o-1', event: 'NOTE', payload: { i } })).wal_offset as number)
  return offsets
}

/** A new full snapshot after one more write: the previous newest becomes the older generation (storage.md §7). */
async function compact (db: Db): Promise<Record<string, unknown>> {
  await call(db, 'APPLY_EVENT', { instance_id: 'filler', event: 'NOTE' })
  return await call(db, 'COMPACT', { force_snapshot: true })
}

t.test('segments stay until their newest record is older than the retention, then go', async t => {
  const clock = { now: START }
  const db = await openDb(tempDir(t), { segmentSizeBytes: 1024, now: () => clock.now, storage: { history_retention_secs: RETENTION_SECS } })
  t.teardown(() => db.close())
  const early = await setUp(db)
  const created = early[0]
  const history = async (): Promise<HistoryResult> => await call(db, 'GET_HISTORY', { instance_id: 'o-1', limit: 1000 }) as unknown as HistoryResult

  // two snapshot generations cover every early segment, but they are not a minute old
  await compact(db)
  clock.now += 30_000
  const young = await compact(db)
  t.equal(young.segments_deleted, 0, 'covered by the older snapshot, but younger than the retention: kept')
  t.same((await history()).items.map(i => i.wal_offset), early)
  t.equal((await history()).complete, true)

  // a minute and more later: the early segments are old enough
  clock.now = START + (RETENTION_SECS + 1) * 1000
  const late: number[] = []
  for (let i = 0; i < 30; i++) late.push((await call(db, 'APPLY_EVENT', { instance_id: 'o-1', event: 'NOTE', payload: { late: i } })).wal_offset as number)
  const deleted = (await compact(db)).segments_deleted as number
  t.ok(deleted > 0, 'covered and older than the retention: deleted')

  const after = await history()
  const earliest = (await call(db, 'WAL_STATS')).earliest_offset as number
  t.equal(after.complete, false, 'the creation is gone: complete is false')
  t.same(after.items.map(i => i.wal_offset), [...early, ...late].filter(o => o >= earliest), 'what is kept, nothing less')
  t.ok(late.every(o => o >= earliest), 'every late entry kept')
  t.equal(after.earliest_offset, after.items[0].wal_offset)
  const err = await rejected(db.dispatch('GET_HISTORY', { instance_id: 'o-1', from_offset: created }))
  t.same(err.details, { reason: 'offset_not_retained', field: 'from_offset', from_offset: created, earliest_offset: after.earliest_offset })
  const at = await rejected(db.dispatch('GET_INSTANCE', { instance_id: 'o-1', at_offset: created }))
  t.same({ code: at.code, details: at.details }, { code: 'NOT_FOUND', details: { reason: 'offset_not_retained', field: 'at_offset', at_offset: created, earliest_offset: after.earliest_offset } })

  // later still: the late segments age out too, except the active one
  clock.now += (RETENTION_SECS + 1) * 1000
  await compact(db)
  await compact(db)
  const last = await history()
  t.ok(last.items.length < after.items.length, 'the late entries went in their turn')
  t.equal(last.complete, false)
})

t.test('retention 0 is the rule without retention: covered segments go at once', async t => {
  const db = await openDb(tempDir(t), { segmentSizeBytes: 1024, now: () => START, storage: { history_retention_secs: 0 } })
  t.teardown(() => db.close())
  await setUp(db)
  await compact(db)
  t.ok(((await compact(db)).segments_deleted as number) > 0, 'no time has passed and the segments still go')
  t.equal((await call(db, 'GET_HISTORY', { instance_id: 'o-1' })).complete, false)
})

t.test('the default keeps a week', async t => {
  const clock = { now: START }
  const db = await openDb(tempDir(t), { segmentSizeBytes: 1024, now: () => clock.now })
  t.teardown(() => db.close())
  await setUp(db)
  await compact(db)
  clock.now += 6 * 86_400_000
  t.equal((await compact(db)).segments_deleted, 0, 'six days old: kept')
  clock.now += 86_400_000 + 1000
  t.ok(((await compact(db)).segments_deleted as number) > 0, 'over seven days old: deleted')
  t.equal((await call(db, 'GET_HISTORY', { instance_id: 'o-1' })).complete, false)
})
