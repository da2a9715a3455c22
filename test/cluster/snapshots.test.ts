import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { Objm } from '@nats-io/obj'
import { fullSnapshotName } from '../../storage/index.js'
import { allAt, call, electedLeader, leaderAndProxiedFollower, natsFor, nodesFor, ORDER, roles, snapshotText, startNode, until } from './helpers.js'
import type { TestNode } from './helpers.js'

/** Full snapshots in the object store, compaction by purge, nodes booting from snapshot + tail (cluster.md §5, §6). */

async function writeSome (n: TestNode, prefix: string, count: number): Promise<number> {
  let last = 0
  for (let i = 0; i < count; i++) {
    last = (await call(n, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `${prefix}-${i}`, initial_ctx: { i }, idempotency_key: `${prefix}-${i}` })).walOffset
  }
  return last
}

t.test('compaction keeps two snapshot generations and purges below the older; a new node boots from the newest and the tail', async (t) => {
  const nats = await natsFor(t, 1)
  const nodes = nodesFor(t)
  nodes.push(await startNode(nats.urls, 'a'), await startNode(nats.urls, 'b'))
  const { leader, follower } = await roles(nodes)

  await call(follower, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await writeSome(follower, 'one', 20)
  const first = (await call(follower, 'COMPACT', {})).result
  t.match(first, { snapshots_created: 20, segments_deleted: 0, total_snapshots: 20 }, 'the first snapshot; nothing to purge yet')
  const s1 = leader.node.log.appendedHead()
  await writeSome(follower, 'two', 10)
  const second = (await call(follower, 'COMPACT', { force_snapshot: true })).result
  t.match(second, { total_snapshots: 30 })
  const s2 = leader.node.log.appendedHead()
  t.equal(second.segments_deleted, s1, 'the stream was purged up to the older snapshot')
  // followers learn of a purge when they next read the stream's state
  await until('the follower sees the purge', async () => (await call(follower, 'WAL_STATS')).result.earliest_offset === s1 + 1)
  const tail = await writeSome(leader, 'three', 5)

  const objects = await listObjects(nats.urls)
  t.same(objects.filter((n) => n.startsWith('full-')).length, 2, 'two generations in the object store')

  const late = await startNode(nats.urls, 'late')
  nodes.push(late)
  t.match(late.node.report, { source: 'jetstream', snapshot: fullSnapshotName(s2), snapshot_sequence: s2, records_replayed: 5 }, 'the newest snapshot and the five writes after it')
  await allAt(nodes, tail)
  t.equal(snapshotText(late), snapshotText(leader), 'the late node has the same state')
  t.match((await call(late, 'GET_INSTANCE', { instance_id: 'one-3' })).result, { ctx: { i: 3 } })
  t.equal((await call(late, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'one-3', initial_ctx: { i: 3 }, idempotency_key: 'one-3' })).result.wal_offset,
    (await call(leader, 'GET_INSTANCE', { instance_id: 'one-3' })).result.last_wal_offset, 'idempotency keys survive in the snapshot')
  const read = (await call(late, 'WAL_READ', { from_offset: 1, limit: 10 })).result as { records: Array<{ sequence: number }> }
  t.equal(read.records[0].sequence, s1 + 1, 'reading from before the purge starts at the oldest retained record')
})

t.test('a corrupt newest snapshot: a new node loads the older one and replays the stream from there', async (t) => {
  const nats = await natsFor(t, 1)
  const nodes = nodesFor(t)
  nodes.push(await startNode(nats.urls, 'a'))
  const leader = await electedLeader(nodes)
  await call(leader, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await writeSome(leader, 'one', 10)
  await call(leader, 'COMPACT', {})
  await writeSome(leader, 'two', 10)
  await call(leader, 'COMPACT', {})
  const head = await writeSome(leader, 'three', 3)
  const names = (await listObjects(nats.urls)).filter((n) => n.startsWith('full-')).sort()
  await overwriteObject(nats.urls, names[1], 'not a snapshot\n')

  const b = await startNode(nats.urls, 'b')
  nodes.push(b)
  t.equal(b.node.report.snapshot, names[0], 'the older snapshot')
  t.ok(b.logs.some((l) => l.level === 'error' && l.message.includes('corrupt')), 'the corrupt one is reported')
  await allAt(nodes, head)
  t.equal(snapshotText(b), snapshotText(leader))
})

t.test('a follower the stream was purged past loads the newer snapshot and converges', async (t) => {
  const { proxy, nodes, leader, behind } = await leaderAndProxiedFollower(t)
  // a live watcher on the node that falls behind
  const messages: Array<Record<string, unknown>> = []
  behind.node.attach({ send (text) { messages.push(JSON.parse(text)); return true }, onDrain () {} }).watch('WATCH_ALL', { include_ctx: false }).start()
  const seen = await call(leader, 'APPLY_EVENT', { instance_id: 'w', event: 'NOTE' })
  await until('the watcher has the event', () => messages.length === 1)

  // more than one pull of its consumer (1000 messages) goes by while it hears nothing, then twice compaction
  proxy.pause()
  const batch = (b: number): Record<string, unknown> => ({
    mode: 'atomic', ops: Array.from({ length: 100 }, (_, i) => ({ op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: `b${b}-${i}` } })),
  })
  await Promise.all(Array.from({ length: 12 }, (_, b) => call(leader, 'BATCH', batch(b))))
  await call(leader, 'COMPACT', {})
  await writeSome(leader, 'two', 10)
  await call(leader, 'COMPACT', {})
  const head = await writeSome(leader, 'three', 3)
  proxy.resume()

  await allAt(nodes, head)
  t.ok(behind.logs.some((l) => l.message.includes('compacted past this node')), 'it noticed the purge')
  t.equal(snapshotText(behind), snapshotText(leader), 'and has the same state')
  // the offsets it moved past without applying them one by one
  const skipped = behind.logs.find((l) => l.message.startsWith('state loaded from a newer snapshot'))?.fields as { from: number, to: number }
  t.match(messages, [
    { type: 'event', wal_offset: seen.walOffset },
    { type: 'subscription_end', subscription_id: messages[0].subscription_id, reason: 'compacted', last_wal_offset: seen.walOffset, resume_from_offset: skipped.from },
  ], 'its watcher got what it had applied, then the end notice with where its events stopped; nothing skipped silently')
  t.equal(messages.length, 2)
  const err = await Promise.resolve().then(() => behind.node.attach({ send: () => true, onDrain () {} }).watch('WATCH_ALL', { from_offset: skipped.from })).then(() => null, (e: unknown) => e)
  t.match(err, { code: 'NOT_FOUND', details: { reason: 'offset_compacted' } }, 'resuming there tells the client to resynchronise')
})

t.test('per-instance snapshots go to the object store; the previous one is replaced; deleted instances are pruned', async (t) => {
  const nats = await natsFor(t, 1)
  const nodes = nodesFor(t)
  nodes.push(await startNode(nats.urls, 'a'), await startNode(nats.urls, 'b'))
  const { follower } = await roles(nodes)
  await call(follower, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await call(follower, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1' })
  const one = (await call(follower, 'SNAPSHOT_INSTANCE', { instance_id: 'o-1' })).result
  const two = (await call(follower, 'SNAPSHOT_INSTANCE', { instance_id: 'o-1' })).result
  t.not(one.snapshot_id, two.snapshot_id)
  t.same((await listObjects(nats.urls)).filter((n) => n.startsWith('instances/')), [`instances/${String(two.snapshot_id)}.json`], 'only the latest is kept')
  await call(follower, 'DELETE_INSTANCE', { instance_id: 'o-1' })
  await call(follower, 'COMPACT', {})
  await until('the deleted instance\'s snapshot is pruned', async () => (await listObjects(nats.urls)).every((n) => !n.startsWith('instances/')))
})

async function listObjects (servers: string[]): Promise<string[]> {
  const nc = await connect({ servers })
  try {
    const os = await new Objm(nc).open('RSTMDB_SNAPSHOTS')
    return (await os.list()).filter((i) => !i.deleted).map((i) => i.name)
  } finally {
    await nc.close()
  }
}

async function overwriteObject (servers: string[], name: string, text: string): Promise<void> {
  const nc = await connect({ servers })
  try {
    const os = await new Objm(nc).open('RSTMDB_SNAPSHOTS')
    const info = await os.info(name)
    await os.putBlob({ name, metadata: info?.metadata }, new TextEncoder().encode(text))
  } finally {
    await nc.close()
  }
}
