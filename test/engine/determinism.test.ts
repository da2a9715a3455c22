import t from 'tap'
import type { WalEntry } from '../../protocol/entries.js'
import { createEngine } from '../../src/engine/index.js'
import type { Engine, SnapshotLine } from '../../src/engine/types.js'
import { harness, workload } from './helpers.js'

/**
 * Replicas apply the same entries with their own clocks (cluster.md §1): apply must not
 * read a clock, draw random numbers or depend on iteration order, so their full
 * snapshots are identical byte for byte.
 */

const snapshot = (engine: Engine): string => [...engine.snapshotLines()].map((l) => JSON.stringify(l)).join('\n')

/** what a replica receives: each entry as the JSON a log carries */
const wire = (entry: WalEntry): WalEntry => JSON.parse(JSON.stringify(entry))

// a short TTL and a small key bound, so pruning and eviction happen while applying
const limits = { idempotencyTtlSecs: 20, idempotencyMaxKeys: 5 }

t.test('two engines with different clocks applying the same entries have identical snapshots', async (t) => {
  for (const seed of [101, 102, 103]) {
    const leader = harness(limits)
    workload(leader, seed, 2000)
    let wall = 5_000_000_000_000
    const replica = createEngine({ ...limits, now: () => (wall += 7919) })
    for (const { entry, sequence } of leader.log) replica.apply(wire(entry), sequence)
    t.ok(leader.log.some(({ entry }) => entry.type === 'create_instance' && entry.instance_id_generated === true), 'generated ids included')
    t.ok(leader.warnings.some((w) => w.message.startsWith('idempotency key bound')), 'oldest keys evicted')
    t.equal(snapshot(replica), snapshot(leader.engine), `seed ${seed}: ${leader.log.length} entries`)
  }
})

t.test('a replica restored from a snapshot midway and applying the tail matches too', async (t) => {
  for (const seed of [201, 202]) {
    const leader = harness(limits)
    workload(leader, seed, 400)
    const cut = leader.log.length
    const lines = [...leader.engine.snapshotLines()].map((l) => JSON.parse(JSON.stringify(l)) as SnapshotLine)
    workload(leader, seed + 1000, 400)
    let wall = 1_000
    const replica = createEngine({ ...limits, now: () => (wall += 1) })
    for (const line of lines) replica.restore(line)
    for (const { entry, sequence } of leader.log.slice(cut)) replica.apply(wire(entry), sequence)
    t.equal(snapshot(replica), snapshot(leader.engine), `seed ${seed}: restored at ${cut}, ${leader.log.length - cut} entries after`)
  }
})
