import t from 'tap'
import type { Test } from 'tap'
import type { NatsCluster } from '../support/nats.js'
import type { JsonObject } from '../../protocol/entries.js'
import { allPages, offsetsOf, type GetHistory, type HistoryResult } from '../history/helpers.js'
import { allAt, call, leaderAndProxiedFollower, natsFor, nodesFor, ORDER, roles, startNode, until } from './helpers.js'
import type { TestNode } from './helpers.js'

/**
 * History in cluster mode (history.md §2–3 over cluster.md §2, §6): every node reads an
 * instance's entries from the stream through its own offset index, so the leader, a follower
 * and a node that started later from a snapshot give the same pages, cursors and past states,
 * and after compaction purged the stream the same `complete: false` / `earliest_offset` /
 * `offset_not_retained` answers; a page costs the reads of its own records only.
 */

const historyOf = (n: TestNode): GetHistory => async (params) => (await call(n, 'GET_HISTORY', params as JsonObject)).result as unknown as HistoryResult

/** The op's result, or its error as plain JSON: equal answers are equal text. */
async function answer (n: TestNode, op: 'GET_HISTORY' | 'GET_INSTANCE', params: JsonObject): Promise<unknown> {
  try {
    return (await call(n, op, params)).result
  } catch (err) {
    return { error: JSON.parse(JSON.stringify(err)) }
  }
}

/** One NATS server and two nodes, a leader and a follower, stopped when the test ends. */
async function twoNodes (t: Test): Promise<{ nats: NatsCluster, nodes: TestNode[], leader: TestNode, follower: TestNode }> {
  const nats = await natsFor(t, 1)
  const nodes = nodesFor(t)
  nodes.push(await startNode(nats.urls, 'a'), await startNode(nats.urls, 'b'))
  return { nats, nodes, ...await roles(nodes) }
}

async function ioOf (n: TestNode): Promise<{ reads: number, bytes_read: number }> {
  return ((await call(n, 'WAL_STATS')).result as { io_stats: { reads: number, bytes_read: number } }).io_stats
}

/** Bytes of the records at `offsets` as the log counts them (a 24-byte header and the entry's JSON), read with WAL_READ. */
async function recordBytes (n: TestNode, offsets: number[]): Promise<number> {
  let bytes = 0
  for (const offset of offsets) {
    const { records } = (await call(n, 'WAL_READ', { from_offset: offset, limit: 1 })).result as { records: Array<{ entry: unknown }> }
    bytes += 24 + Buffer.byteLength(JSON.stringify(records[0].entry))
  }
  return bytes
}

/** Every history page of `id` both ways and its state at every offset from 0 to `head`, as one text. */
async function everything (n: TestNode, id: string, head: number): Promise<string> {
  const get = historyOf(n)
  const at: unknown[] = []
  for (let offset = 0; offset <= head; offset++) at.push(await answer(n, 'GET_INSTANCE', { instance_id: id, at_offset: offset }))
  return JSON.stringify({
    up: await allPages(get, id, { limit: 3 }),
    down: await allPages(get, id, { limit: 4, reverse: true }),
    at,
  })
}

t.test('the leader, a follower and a node started later serve the same history, as the writes made it', async (t) => {
  const { nats, nodes, leader, follower } = await twoNodes(t)
  t.ok(follower.node.features.includes('history') && leader.node.features.includes('history'), 'every node lists history')
  t.ok(((await call(follower, 'INFO')).result.features as string[]).includes('history'))

  await call(follower, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  const offsets = new Map<string, number[]>()
  const wrote = (id: string, offset: number): void => { offsets.set(id, [...(offsets.get(id) ?? []), offset]) }
  for (const id of ['x', 'y']) wrote(id, (await call(follower, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: id, initial_ctx: { id, amount: 1 } })).walOffset)
  for (let i = 0; i < 30; i++) {
    const id = i % 3 === 0 ? 'y' : 'x'
    wrote(id, (await call(i % 2 === 0 ? leader : follower, 'APPLY_EVENT', { instance_id: id, event: 'NOTE', payload: { i }, event_id: `e-${i}` })).walOffset)
  }
  // an atomic batch: its entries take effect together
  const batch = (await call(leader, 'BATCH', { mode: 'atomic', ops: [{ op: 'APPLY_EVENT', params: { instance_id: 'x', event: 'PAY' } }, { op: 'DELETE_INSTANCE', params: { instance_id: 'y' } }] })).result as { results: Array<{ result: { wal_offset: number } }> }
  wrote('x', batch.results[0].result.wal_offset)
  wrote('y', batch.results[1].result.wal_offset)
  const head = leader.node.head()
  const late = await startNode(nats.urls, 'late')
  nodes.push(late)
  await allAt(nodes, head)

  for (const n of nodes) {
    for (const [id, expected] of offsets) {
      const up = await allPages(historyOf(n), id, { limit: 4 })
      t.same(offsetsOf(up), expected, `${n.id}: ${id} oldest first`)
      t.ok(up.every((p) => p.complete && p.earliest_offset === expected[0]), `${n.id}: ${id} complete from its creation`)
      t.same(offsetsOf(await allPages(historyOf(n), id, { limit: 5, reverse: true })), [...expected].reverse(), `${n.id}: ${id} newest first`)
    }
    const [created, ...events] = (await historyOf(n)({ instance_id: 'y', limit: 100 })).items
    t.match(created, { type: 'CREATE_INSTANCE', machine: 'order', version: 1, state: 'pending', ctx: { id: 'y' } })
    t.match(events[0], { type: 'APPLY_EVENT', event: 'NOTE', payload: { i: 0 }, event_id: 'e-0' })
    t.match(events[events.length - 1], { type: 'DELETE_INSTANCE' }, `${n.id}: the deletion is y's last item`)
  }
  const x = offsets.get('x') as number[]
  t.match(await answer(follower, 'GET_INSTANCE', { instance_id: 'x', at_offset: x[1] }), { state: 'pending', last_wal_offset: x[1] })
  t.match(await answer(follower, 'GET_INSTANCE', { instance_id: 'x', at_offset: x[0] - 1 }), { error: { code: 'INSTANCE_NOT_FOUND' } }, 'before its creation')
  t.match(await answer(follower, 'GET_HISTORY', { instance_id: 'x', from_offset: head + 1 }), { error: { code: 'BAD_REQUEST', details: { reason: 'above_head', head_offset: head } } })
  t.match(await answer(follower, 'GET_HISTORY', { instance_id: 'nobody' }), { error: { code: 'INSTANCE_NOT_FOUND' } })

  const text = await everything(leader, 'x', head)
  t.equal(await everything(follower, 'x', head), text, 'the follower answers every page and every past state as the leader does')
  t.equal(await everything(late, 'x', head), text, 'and so does the node that started later')
  t.equal(await everything(late, 'y', head), await everything(leader, 'y', head))
})

t.test('a page reads its own records, not the stream: a reverse page and at_offset on an instance with many entries', async (t) => {
  const { nodes, leader, follower } = await twoNodes(t)
  await call(leader, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await call(leader, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'big' })
  await call(leader, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'other' })
  const writes = await Promise.all(Array.from({ length: 400 }, async (_, i) =>
    await call(leader, 'APPLY_EVENT', { instance_id: i % 4 === 0 ? 'big' : 'other', event: 'NOTE', payload: { i, pad: 'p'.repeat(200) } })))
  const head = Math.max(...writes.map((w) => w.walOffset))
  await allAt(nodes, head)
  for (const n of [leader, follower]) {
    const before = await ioOf(n)
    const page = await historyOf(n)({ instance_id: 'big', reverse: true, limit: 3, from_offset: head - 1 })
    const after = await ioOf(n)
    const past = await answer(n, 'GET_INSTANCE', { instance_id: 'big', at_offset: head - 5 }) as { last_wal_offset: number }
    const then = await ioOf(n)
    t.equal(page.items.length, 3)
    t.equal(after.reads - before.reads, 1, `${n.id}: one read`)
    t.equal(after.bytes_read - before.bytes_read, await recordBytes(n, page.items.map((i) => i.wal_offset)), `${n.id}: of the page's three records alone`)
    t.match(past, { instance_id: 'big', state: 'pending' })
    t.equal(then.bytes_read - after.bytes_read, await recordBytes(n, [past.last_wal_offset]), `${n.id}: at_offset reads one record`)
  }
})

t.test('after compaction purged the stream: the same complete:false, earliest_offset and offset_not_retained on every node', async (t) => {
  const { nats, nodes, leader, follower } = await twoNodes(t)
  await call(follower, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  const old: number[] = [(await call(follower, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'old' })).walOffset]
  for (let i = 0; i < 4; i++) old.push((await call(follower, 'APPLY_EVENT', { instance_id: 'old', event: 'NOTE', payload: { i } })).walOffset)
  await call(follower, 'COMPACT', {})
  const s1 = leader.node.log.appendedHead()
  // between the two snapshots: kept in the stream, below the newest snapshot
  const mid = [(await call(follower, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'mid' })).walOffset]
  for (let i = 0; i < 3; i++) {
    old.push((await call(follower, 'APPLY_EVENT', { instance_id: 'old', event: 'NOTE', payload: { i } })).walOffset)
    mid.push((await call(follower, 'APPLY_EVENT', { instance_id: 'mid', event: 'NOTE', payload: { i } })).walOffset)
  }
  const quiet = (await call(follower, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'quiet' })).walOffset
  await call(follower, 'COMPACT', { force_snapshot: true })
  // at once, before the follower's next look at the stream's state: a purged oldest entry is noticed when read
  t.match(await historyOf(follower)({ instance_id: 'old', limit: 1, reverse: true }), { complete: false, earliest_offset: old.find((o) => o > s1) }, 'the follower knows of the purge at once')
  old.push((await call(follower, 'APPLY_EVENT', { instance_id: 'old', event: 'NOTE', payload: { last: true } })).walOffset)
  const head = leader.node.head()
  await until('the follower sees the purge', async () => (await call(follower, 'WAL_STATS')).result.earliest_offset === s1 + 1)
  const late = await startNode(nats.urls, 'late')
  nodes.push(late)
  t.ok(late.node.report.snapshot_sequence > s1, 'the late node booted from the newer snapshot')
  await allAt(nodes, head)

  const kept = old.filter((o) => o > s1)
  const answers: string[] = []
  for (const n of nodes) {
    const up = await historyOf(n)({ instance_id: 'old', limit: 100 })
    t.same(up.items.map((i) => i.wal_offset), kept, `${n.id}: old's kept entries`)
    t.match(up, { complete: false, earliest_offset: kept[0], next_offset: null })
    t.match(await historyOf(n)({ instance_id: 'mid', limit: 100 }), { complete: true, earliest_offset: mid[0] }, `${n.id}: mid is whole`)
    t.same(offsetsOf([await historyOf(n)({ instance_id: 'mid', limit: 100 })]), mid)
    t.match(await answer(n, 'GET_HISTORY', { instance_id: 'old', from_offset: old[1] }),
      { error: { code: 'NOT_FOUND', details: { reason: 'offset_not_retained', field: 'from_offset', earliest_offset: kept[0] } } }, `${n.id}: a cursor into purged history`)
    t.match(await answer(n, 'GET_INSTANCE', { instance_id: 'old', at_offset: old[2] }),
      { error: { code: 'NOT_FOUND', details: { reason: 'offset_not_retained', field: 'at_offset', earliest_offset: kept[0] } } })
    t.match(await answer(n, 'GET_INSTANCE', { instance_id: 'old', at_offset: kept[0] }), { last_wal_offset: kept[0] })
    t.match(await historyOf(n)({ instance_id: 'quiet', limit: 1, reverse: true }), { items: [{ wal_offset: quiet }], complete: true })
    answers.push(await everything(n, 'old', head) + await everything(n, 'mid', head))
  }
  t.equal(answers[1], answers[0], 'the follower answers as the leader')
  t.equal(answers[2], answers[0], 'the node that booted from the newest snapshot answers as the leader')
})

t.test('a follower the stream was purged past indexes the kept offsets its newer snapshot covers', async (t) => {
  const { proxy, nodes, leader, behind } = await leaderAndProxiedFollower(t)

  // more than one pull of its consumer (1000 messages) goes by while it hears nothing, then twice compaction
  proxy.pause()
  await Promise.all(Array.from({ length: 12 }, async (_, b) => await call(leader, 'BATCH', {
    mode: 'atomic', ops: Array.from({ length: 100 }, (_, i) => ({ op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: `b${b}-${i}` } })),
  })))
  await call(leader, 'COMPACT', {})
  await call(leader, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'mid' })
  for (let i = 0; i < 3; i++) await call(leader, 'APPLY_EVENT', { instance_id: 'mid', event: 'NOTE', payload: { i } })
  await call(leader, 'COMPACT', { force_snapshot: true })
  const head = (await call(leader, 'APPLY_EVENT', { instance_id: 'mid', event: 'NOTE', payload: { after: true } })).walOffset
  proxy.resume()

  await allAt(nodes, head)
  t.ok(behind.logs.some((l) => l.message.startsWith('state loaded from a newer snapshot')), 'it moved past offsets without applying them')
  t.match(await historyOf(behind)({ instance_id: 'mid', limit: 100 }), { complete: true, items: { length: 5 } }, 'the entries below its snapshot are in its history')
  t.equal(await everything(behind, 'mid', head), await everything(leader, 'mid', head), 'it answers as the leader')
  t.equal(JSON.stringify(await answer(behind, 'GET_HISTORY', { instance_id: 'w' })), JSON.stringify(await answer(leader, 'GET_HISTORY', { instance_id: 'w' })),
    'an instance whose entries were all purged: the same answer')
})
