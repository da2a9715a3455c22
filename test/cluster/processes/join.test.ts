import t from 'tap'
import { RcpError } from 'rstmdb'
import { collect } from '../../support/client.js'
import { ORDER } from '../../support/machines.js'
import { connect } from '@nats-io/transport-node'
import { Objm } from '@nats-io/obj'
import { allApplied, clientOf, isEmptyDir, leaderOf, startCluster, stateAt, until } from '../../support/cluster.js'

/**
 * Snapshots and compaction through the object store (cluster.md §5, §6): the leader compacts
 * automatically at the configured threshold, keeps two snapshot generations and purges the
 * stream below the older; a node that starts later with an empty disk boots from the newest
 * snapshot and the stream's tail, and has the same state as the others.
 */

const EVENTS_THRESHOLD = 150

t.test('a fourth node joins from an empty disk after compactions, boots from the newest snapshot and converges', async (t) => {
  const cluster = await startCluster(t, {
    env: { RSTMDB_COMPACT_ENABLED: 'true', RSTMDB_COMPACT_EVENTS: String(EVENTS_THRESHOLD), RSTMDB_COMPACT_INTERVAL: '0', RSTMDB_COMPACT_SIZE_MB: '0' },
  })
  const leader = await leaderOf(cluster.nodes)
  const sdk = await clientOf(t, cluster.nodes.find((n) => n !== leader)?.address ?? leader.address)
  await sdk.putMachine({ machine: 'order', version: 1, definition: ORDER })
  const watcher = collect(sdk.watchAll({ include_ctx: false }))

  // automatic compaction: each threshold's worth of appends makes a snapshot and purges below the older one
  let compactions = 0
  for (let round = 0; compactions < 3; round++) {
    if (round > 20) throw new Error('no automatic compaction after 20 rounds of writes')
    await Promise.all(Array.from({ length: EVENTS_THRESHOLD / 5 }, async (_, i) => {
      const id = `r${round}-${i}`
      await sdk.createInstance({ machine: 'order', version: 1, instance_id: id, initial_ctx: { round, i } })
      for (let k = 0; k < 4; k++) await sdk.applyEvent({ instance_id: id, event: 'NOTE', payload: { k } })
    }))
    compactions = leader.logs().filter((l) => l.message === 'automatic compaction done').length
  }
  // a follower learns of a purge when it next reads the stream's state
  let stats = await sdk.walStats()
  await until('the purge is seen', async () => (stats = await sdk.walStats()).earliest_offset > 1)
  t.ok(stats.earliest_offset > 1, `the stream was purged up to ${stats.earliest_offset}`)
  t.equal(stats.fsync_policy, 'jetstream')

  // a watcher of the running cluster is not disturbed; one asking for purged offsets is told
  const err = await collect(sdk.watchAll({ from_offset: 1 })).until(() => true).then(() => null, (e: unknown) => e)
  t.ok(err instanceof RcpError)
  t.match(err, { code: 'NOT_FOUND', details: { reason: 'offset_compacted', from_offset: 1, earliest_offset: stats.earliest_offset } })

  const tail = await sdk.applyEvent({ instance_id: 'r0-0', event: 'NOTE', payload: { tail: true } })
  const snapshots = await fullSnapshots(cluster.nats.urls)
  t.equal(snapshots.length, 2, 'two generations of full snapshots in the object store')
  const late = await cluster.add('late')
  t.ok(isEmptyDir(late.dataDir), 'it started with an empty disk and wrote nothing to it')
  const report = late.logs().find((l) => l.message === 'storage recovered')
  t.match(report, { source: 'jetstream', snapshot: snapshots[0] }, 'it booted from the newest snapshot')
  t.ok(Number(report?.records_replayed) <= Number(report?.head) - Number(report?.snapshot_sequence), 'then only the stream\'s tail')
  t.ok(Number(report?.head) >= tail.wal_offset)

  const head = (await sdk.info()).wal_offset
  await allApplied(cluster.nodes, head)
  const states = await Promise.all(cluster.nodes.map(async (n) => await stateAt(await clientOf(t, n.address), head)))
  for (let i = 1; i < states.length; i++) t.equal(states[i], states[0], `${cluster.nodes[i].id} has the state of ${cluster.nodes[0].id}`)
  await watcher.until((e) => e.wal_offset === tail.wal_offset)
  t.equal(watcher.events.length, new Set(watcher.events.map((e) => e.wal_offset)).size, 'the running watcher saw each event once')
})

/** Names of the full snapshots in the object store, newest first. */
async function fullSnapshots (servers: string[]): Promise<string[]> {
  const nc = await connect({ servers })
  try {
    const os = await new Objm(nc).open('RSTMDB_SNAPSHOTS')
    return (await os.list()).filter((i) => !i.deleted && i.name.startsWith('full-')).map((i) => i.name).sort().reverse()
  } finally {
    await nc.close()
  }
}
