import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { readFullSnapshot } from '../../storage/index.js'
import { ORDER } from '../support/machines.js'
import { tempDir } from '../support/temp-dir.js'
import { call, openDb } from './helpers.js'

t.test('a truncated newest snapshot falls back to the older one', async (t) => {
  const dir = tempDir(t)
  const db = await openDb(dir, { segmentSizeBytes: 1024 })
  await db.dispatch('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  for (let i = 0; i < 20; i++) await db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `a-${i}` })
  await call(db, 'COMPACT', {})
  for (let i = 0; i < 20; i++) await db.dispatch('APPLY_EVENT', { instance_id: `a-${i}`, event: 'CANCEL' })
  await call(db, 'COMPACT', { force_snapshot: true })
  const before = await call(db, 'LIST_INSTANCES', { limit: 1000 })
  await db.close()

  const snaps = fs.readdirSync(path.join(dir, 'snapshots')).filter((n) => n.startsWith('full-')).sort()
  t.equal(snaps.length, 2, 'two generations kept')
  const newest = path.join(dir, 'snapshots', snaps[1])
  const info = await readFullSnapshot(newest)
  t.match(info, { header: { format: 'rstmdb.snapshot', format_version: 1, kind: 'full', last_sequence: 41 }, counts: { machines: 1, instances: 20 } })
  fs.truncateSync(newest, fs.statSync(newest).size - 40)

  const db2 = await openDb(dir, { segmentSizeBytes: 1024 })
  t.equal(db2.report.snapshot, snaps[0], 'older snapshot used')
  t.same(await call(db2, 'LIST_INSTANCES', { limit: 1000 }), before, 'state rebuilt from the older snapshot and the WAL')
  await db2.close()
})

t.test('per-instance snapshots: checksummed file, previous one replaced, deleted instance pruned', async (t) => {
  const dir = tempDir(t)
  const db = await openDb(dir)
  t.teardown(() => db.close())
  await db.dispatch('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { a: 1 } })
  const instDir = path.join(dir, 'snapshots', 'instances')
  const first = await call(db, 'SNAPSHOT_INSTANCE', { instance_id: 'o-1' })
  const second = await call(db, 'SNAPSHOT_INSTANCE', { instance_id: 'o-1' })
  const files = fs.readdirSync(instDir)
  t.same(files, [`${second.snapshot_id as string}.json`], 'only the latest file of the instance')
  t.not(first.snapshot_id, second.snapshot_id)
  const doc = JSON.parse(fs.readFileSync(path.join(instDir, files[0]), 'utf8'))
  t.match(doc, { format: 'rstmdb.snapshot', kind: 'instance', last_sequence: 2, checksum: second.checksum, body: { instance: { id: 'o-1', ctx: { a: 1 } } } })
  t.equal(second.size_bytes, fs.statSync(path.join(instDir, files[0])).size)
  await db.dispatch('DELETE_INSTANCE', { instance_id: 'o-1' })
  await call(db, 'COMPACT', {})
  t.same(fs.readdirSync(instDir), [], 'file of a deleted instance removed by compaction')
})

t.test('automatic compaction by events threshold', async (t) => {
  const dir = tempDir(t)
  const db = await openDb(dir, { segmentSizeBytes: 1024, compaction: { enabled: true, events_threshold: 30, size_threshold_mb: 0, min_interval_secs: 0 } })
  t.teardown(() => db.close())
  await db.dispatch('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  for (let i = 0; i < 30; i++) await db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `x-${i}` })
  const snapshots = (): string[] => fs.readdirSync(path.join(dir, 'snapshots')).filter((n) => n.startsWith('full-'))
  for (let i = 0; i < 50 && snapshots().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(snapshots().length, 1, 'snapshot written automatically')
})

t.test('a catch-up subscription that has not read yet holds back segment deletion', async (t) => {
  const dir = tempDir(t)
  // no history retention: only the pin holds segments back
  const db = await openDb(dir, { segmentSizeBytes: 512, storage: { history_retention_secs: 0 } })
  t.teardown(() => db.close())
  await db.dispatch('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  for (let i = 0; i < 20; i++) await db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `p-${i}` })
  // subscribed from offset 1 but not started: its cursor still has every record to read
  const owner = db.attach({ send: () => true, onDrain: () => {} })
  owner.watch('WATCH_ALL', { from_offset: 1 })
  await call(db, 'COMPACT', {})
  for (let i = 20; i < 40; i++) await db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `p-${i}` })
  const held = await call(db, 'COMPACT', {})
  t.equal(held.segments_deleted, 0, 'segment holding sequence 1 kept, and nothing after it')
  t.equal((await call(db, 'WAL_STATS')).earliest_offset, 1)
  owner.close()
  const freed = await call(db, 'COMPACT', {})
  t.ok((freed.segments_deleted as number) > 0, 'deleted once the subscription is gone')
  t.ok(((await call(db, 'WAL_STATS')).earliest_offset as number) > 1)
})
