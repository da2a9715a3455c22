import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { WalEntry } from '../../protocol/entries.js'
import type { Database } from '../../src/ops/index.js'
import { encodeRecord, segmentName } from '../../storage/index.js'
import { stampRecord } from '../../storage/record.js'
import { rejected } from '../support/client.js'
import { ORDER } from '../support/machines.js'
import { tempDir } from '../support/temp-dir.js'
import { call, openDb } from '../ops/helpers.js'
import { allPages, offsetsOf, type GetHistory, type HistoryResult } from './helpers.js'

/**
 * GET_HISTORY over the dispatcher and a real WAL on disk (history.md §2): pages both ways
 * across segment rotation, after a restart (the index rebuilt by recovery), after
 * compaction, for deleted instances; the items' fields.
 */

const START = Date.UTC(2025, 0, 15, 10, 30)
// a few records per segment: every history crosses many segments
const SEGMENT_BYTES = 1024

function historyOf (db: Database): GetHistory {
  return async params => await call(db, 'GET_HISTORY', params) as unknown as HistoryResult
}

interface Written { db: Database, offsets: Map<string, number[]>, clock: { now: number } }

/** Instances a, b, c with interleaved events (c deleted at the end), and z created once and never touched. */
async function populate (dir: string, clock = { now: START }): Promise<Written> {
  const db = await openDb(dir, { segmentSizeBytes: SEGMENT_BYTES, now: () => clock.now, storage: { history_retention_secs: 0 } })
  const offsets = new Map<string, number[]>()
  const wrote = (id: string, offset: number): void => { offsets.set(id, [...(offsets.get(id) ?? []), offset]) }
  await call(db, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  wrote('z', (await call(db, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'z' })).wal_offset as number)
  for (const id of ['a', 'b', 'c']) {
    wrote(id, (await call(db, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: id, initial_ctx: { id } })).wal_offset as number)
  }
  for (let i = 0; i < 90; i++) {
    clock.now += 1000
    const id = ['a', 'b', 'c'][i % 3 === 0 ? 0 : i % 2 === 0 ? 1 : 2]
    const result = await call(db, 'APPLY_EVENT', { instance_id: id, event: 'NOTE', payload: { i }, event_id: `e-${i}` })
    wrote(id, result.wal_offset as number)
  }
  wrote('c', (await call(db, 'DELETE_INSTANCE', { instance_id: 'c' })).wal_offset as number)
  return { db, offsets, clock }
}

t.test('pages of every size, both directions, across segments; items carry the entry fields', async t => {
  const { db, offsets } = await populate(tempDir(t))
  t.teardown(() => db.close())
  t.ok(((await call(db, 'WAL_STATS')).segment_count as number) > 20, 'the entries are spread over many segments')
  const get = historyOf(db)
  for (const id of ['a', 'b', 'c', 'z']) {
    const expected = offsets.get(id) as number[]
    for (const limit of [1, 2, 7, 100]) {
      const up = await allPages(get, id, { limit })
      t.same(offsetsOf(up), expected, `${id}, pages of ${limit}, oldest first`)
      t.ok(up.every(p => p.items.length <= limit && p.complete && p.earliest_offset === expected[0]), `${id}: every page within the limit, complete`)
      const down = await allPages(get, id, { limit, reverse: true })
      t.same(offsetsOf(down), [...expected].reverse(), `${id}, pages of ${limit}, newest first`)
    }
  }

  const a = offsets.get('a') as number[]
  const first = await get({ instance_id: 'a', limit: 2 })
  t.same(first.items[0], { wal_offset: a[0], type: 'CREATE_INSTANCE', at: new Date(START).toISOString(), machine: 'order', version: 1, state: 'pending', ctx: { id: 'a' } })
  t.same(first.items[1], {
    wal_offset: a[1], type: 'APPLY_EVENT', at: new Date(START + 1000).toISOString(), event: 'NOTE', from_state: 'pending', to_state: 'pending', payload: { i: 0 }, event_id: 'e-0',
  })
  t.equal(first.next_offset, a[2], 'next_offset is the next entry of the instance')

  // a cursor need not be an offset of the instance: from the lowest at or above it, or (reverse) the highest at or below it
  const between = a[5] + 1
  t.same((await get({ instance_id: 'a', from_offset: between, limit: 2 })).items.map(i => i.wal_offset), [a[6], a[7]])
  t.same((await get({ instance_id: 'a', from_offset: between, limit: 2, reverse: true })).items.map(i => i.wal_offset), [a[5], a[4]])
  const head = (await call(db, 'WAL_STATS')).latest_offset as number
  t.same((await get({ instance_id: 'a', from_offset: head, limit: 1, reverse: true })).items.map(i => i.wal_offset), [a[a.length - 1]], 'reverse from the head: the newest')
  t.same(await get({ instance_id: 'a', from_offset: head, limit: 5 }), { instance_id: 'a', items: [], next_offset: null, earliest_offset: a[0], complete: true }, 'ascending past the newest: nothing, no cursor')
  t.same((await get({ instance_id: 'a', from_offset: 0, limit: 1, reverse: true })).items, [], 'reverse below the creation: nothing')
  t.same((await get({ instance_id: 'a', from_offset: 0, limit: 1 })).items.map(i => i.wal_offset), [a[0]], 'from 0: from the creation')
})

t.test('a deleted instance keeps its history, the tombstone last', async t => {
  const { db, offsets } = await populate(tempDir(t))
  t.teardown(() => db.close())
  const c = offsets.get('c') as number[]
  t.equal((await rejected(db.dispatch('GET_INSTANCE', { instance_id: 'c' }))).code, 'INSTANCE_NOT_FOUND', 'GET says it is gone')
  const newest = await call(db, 'GET_HISTORY', { instance_id: 'c', reverse: true, limit: 1 }) as unknown as HistoryResult
  t.same(newest.items, [{ wal_offset: c[c.length - 1], type: 'DELETE_INSTANCE', at: newest.items[0].at }])
  t.equal(newest.next_offset, c[c.length - 2])
  t.same(offsetsOf(await allPages(historyOf(db), 'c', { limit: 10 })), c)
})

t.test('after a restart the index is rebuilt from the WAL: the same pages', async t => {
  const dir = tempDir(t)
  const { db, offsets } = await populate(dir)
  const before = await allPages(historyOf(db), 'a', { limit: 4 })
  await db.close()
  const again = await openDb(dir, { segmentSizeBytes: SEGMENT_BYTES, storage: { history_retention_secs: 0 } })
  t.teardown(() => again.close())
  t.same(await allPages(historyOf(again), 'a', { limit: 4 }), before, 'identical pages, items included')
  for (const id of ['b', 'c', 'z']) t.same(offsetsOf(await allPages(historyOf(again), id, { limit: 3, reverse: true })), [...offsets.get(id) as number[]].reverse(), id)

  // appends after recovery join the rebuilt index
  const more = await call(again, 'APPLY_EVENT', { instance_id: 'a', event: 'NOTE' })
  const newest = await call(again, 'GET_HISTORY', { instance_id: 'a', reverse: true, limit: 1 }) as unknown as HistoryResult
  t.equal(newest.items[0].wal_offset, more.wal_offset)
})

t.test('after compaction: older entries gone, complete false, earliest_offset tells where history starts', async t => {
  const dir = tempDir(t)
  const { db, offsets } = await populate(dir)
  t.teardown(() => db.close())
  await call(db, 'COMPACT', { force_snapshot: true })
  for (let i = 0; i < 12; i++) {
    const id = i % 2 === 0 ? 'a' : 'b'
    offsets.get(id)?.push((await call(db, 'APPLY_EVENT', { instance_id: id, event: 'NOTE', payload: { late: i } })).wal_offset as number)
  }
  const compacted = await call(db, 'COMPACT', { force_snapshot: true })
  t.ok((compacted.segments_deleted as number) > 0, 'retention 0: segments covered by the older snapshot go')
  const earliestKept = (await call(db, 'WAL_STATS')).earliest_offset as number
  const get = historyOf(db)

  const b = offsets.get('b') as number[]
  const keptB = b.filter(o => o >= earliestKept)
  t.ok(keptB.length > 0 && keptB.length < b.length, 'b lost its older entries, kept its newer ones')
  const pages = await allPages(get, 'b', { limit: 5 })
  t.same(offsetsOf(pages), keptB, 'from the oldest kept entry by default')
  t.ok(pages.every(p => !p.complete && p.earliest_offset === keptB[0]), 'complete is false; earliest_offset is the oldest kept entry of b')
  t.same(offsetsOf(await allPages(get, 'b', { limit: 5, reverse: true })), [...keptB].reverse(), 'reverse stops at the oldest kept entry')
  t.same(offsetsOf(await allPages(get, 'b', { limit: 5, from: keptB[0] })), keptB, 'from_offset = earliest_offset is fine')

  for (const [params, field] of [[{ from_offset: b[0] }, 'from_offset'], [{ from_offset: keptB[0] - 1, reverse: true }, 'from_offset']] as const) {
    const err = await rejected(db.dispatch('GET_HISTORY', { instance_id: 'b', ...params }))
    t.same({ code: err.code, details: err.details }, {
      code: 'NOT_FOUND', details: { reason: 'offset_not_retained', field, from_offset: params.from_offset, earliest_offset: keptB[0] },
    }, `a cursor before the kept history: ${JSON.stringify(params)}`)
  }

  const z = await call(db, 'GET_HISTORY', { instance_id: 'z' }) as unknown as HistoryResult
  t.same(z, { instance_id: 'z', items: [], next_offset: null, earliest_offset: earliestKept, complete: false }, 'nothing of z is kept: it all lies before the oldest kept offset')
  t.equal((await rejected(db.dispatch('GET_HISTORY', { instance_id: 'z', from_offset: 1 }))).details.reason, 'offset_not_retained')
})

t.test('a page stops early to fit one message; next_offset picks up there', async t => {
  const db = await openDb(tempDir(t), { storage: { history_retention_secs: 0 } })
  t.teardown(() => db.close())
  await call(db, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await call(db, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'big' })
  // 3 MiB payloads: five of them do not fit in one 16 MiB response
  const big = 'x'.repeat(3 * 1024 * 1024)
  const written: number[] = []
  for (let i = 0; i < 6; i++) written.push((await call(db, 'APPLY_EVENT', { instance_id: 'big', event: 'NOTE', payload: { big, i } })).wal_offset as number)
  const first = await call(db, 'GET_HISTORY', { instance_id: 'big', limit: 100 }) as unknown as HistoryResult
  t.ok(first.items.length < 7 && first.items.length >= 2, `the first page holds what fits (${first.items.length} items)`)
  t.ok(Buffer.byteLength(JSON.stringify(first)) < 16 * 1024 * 1024)
  const rest = await allPages(historyOf(db), 'big', { limit: 100, from: first.next_offset as number })
  t.same([...first.items.map(i => i.wal_offset), ...offsetsOf(rest)].slice(1), written, 'nothing skipped')
})

t.test('records after garbage that recovery skipped are found: an index point follows every gap', async t => {
  const dir = tempDir(t)
  const ts = START
  const entries: WalEntry[] = [
    { type: 'put_machine', machine: 'order', version: 1, definition_hash: '', definition: { states: ['pending'], initial: 'pending', transitions: [{ from: ['pending'], event: 'NOTE', to: 'pending' }] }, ts },
    { type: 'create_instance', instance_id: 'x', machine: 'order', version: 1, initial_state: 'pending', initial_ctx: {}, ts },
    ...Array.from({ length: 30 }, (_, i): WalEntry => ({ type: 'apply_event', instance_id: 'x', machine: 'order', version: 1, event: 'NOTE', from_state: 'pending', to_state: 'pending', payload: { i }, ctx: { i }, ts })),
  ]
  const records = entries.map((entry, i) => {
    const record = encodeRecord(entry)
    stampRecord(record, i + 1, false)
    return record
  })
  // bytes that are no record, after the 10th, in a sealed segment; the last record in a second segment
  const garbage = Buffer.alloc(300, 0xab)
  fs.mkdirSync(path.join(dir, 'wal'))
  fs.writeFileSync(path.join(dir, 'wal', segmentName(1)), Buffer.concat([...records.slice(0, 10), garbage, ...records.slice(10, -1)]))
  fs.writeFileSync(path.join(dir, 'wal', segmentName(2)), records[records.length - 1])
  const db = await openDb(dir, { storage: { skip_corrupt_records: true } })
  t.teardown(() => db.close())
  t.ok(db.report.corrupt_records_skipped > 0, 'recovery skipped the garbage')
  const all = await allPages(historyOf(db), 'x', { limit: 7 })
  t.same(offsetsOf(all), Array.from({ length: 31 }, (_, i) => i + 2), 'every entry of x, before and after the garbage')
  t.same((await call(db, 'GET_INSTANCE', { instance_id: 'x', at_offset: 20 })).ctx, { i: 17 }, 'the state at 20: event 17')
})
