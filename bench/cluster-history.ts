/**
 * History in cluster mode (history.md over cluster.md): three NATS servers (R3) and two
 * rstmdb nodes on loopback. The stream gets BENCH_TOTAL entries (default 100,000), of which
 * BENCH_BIG (default 20,000) belong to one instance; then, on the follower over RCP:
 *   - GET_HISTORY pages of 100 from a random from_offset, oldest first and newest first (p50/p99);
 *   - GET_INSTANCE at_offset at a random offset (p50/p99);
 * and, after a COMPACT (a snapshot at the head, nothing purged), how long a third node takes
 * to start: it loads the snapshot and reads the whole retained stream below it once to index it.
 * Run: npm run bench:cluster-history. Prints the figures, then one JSON line.
 */
import { Client } from 'rstmdb'
import { ORDER } from '../test/support/machines.js'
import { allApplied, leaderOf, startCluster } from '../test/support/cluster.js'

const TOTAL = Number(process.env.BENCH_TOTAL ?? 100_000)
const BIG = Number(process.env.BENCH_BIG ?? 20_000)
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 500)
const BATCH = 100
const IN_FLIGHT = 16

const cleanups: Array<() => unknown> = []
const teardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

async function client (address: string): Promise<Client> {
  const c = await Client.connect({ servers: [address], clientName: 'rstmdb-bench-cluster-history', requestTimeoutMs: 0 })
  cleanups.push(() => c.destroy())
  return c
}

async function timed (n: number, fn: () => Promise<unknown>): Promise<{ p50_ms: number, p99_ms: number }> {
  const ms: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await fn()
    ms.push(performance.now() - t0)
  }
  return { p50_ms: Number(percentile(ms, 0.5).toFixed(2)), p99_ms: Number(percentile(ms, 0.99).toFixed(2)) }
}

try {
  const cluster = await startCluster(teardown, { nodes: 2, nats: 3 })
  const leader = await leaderOf(cluster.nodes)
  const follower = cluster.nodes.find((n) => n !== leader) ?? leader
  const writer = await client(leader.address)
  await writer.putMachine({ machine: 'order', version: 1, definition: ORDER })
  const others = 100
  await writer.createInstance({ machine: 'order', version: 1, instance_id: 'big' })
  for (let i = 0; i < others; i++) await writer.createInstance({ machine: 'order', version: 1, instance_id: `o-${i}` })
  // every (TOTAL / BIG)-th event goes to the big instance, the rest to the others in turn
  const every = Math.max(1, Math.round(TOTAL / BIG))
  const filled = performance.now()
  let head = 0
  for (let next = 0; next < TOTAL;) {
    const round: Array<ReturnType<Client['batch']>> = []
    for (let b = 0; b < IN_FLIGHT && next < TOTAL; b++) {
      const ops = []
      for (let k = 0; k < BATCH && next < TOTAL; k++, next++) {
        ops.push({ op: 'APPLY_EVENT' as const, params: { instance_id: next % every === 0 ? 'big' : `o-${next % others}`, event: 'NOTE', payload: { n: next } } })
      }
      round.push(writer.batch({ mode: 'atomic', ops }))
    }
    for (const r of await Promise.all(round)) head = Math.max(head, ...r.results.map((x) => Number(x.result?.wal_offset ?? 0)))
  }
  await allApplied(cluster.nodes, head)
  console.log(`${TOTAL.toLocaleString('en-US')} entries (${Math.ceil(TOTAL / every).toLocaleString('en-US')} of one instance) written in ${Math.round(performance.now() - filled)} ms; head ${head}`)

  const reader = await client(follower.address)
  const randomOffset = (): number => 1 + Math.floor(Math.random() * head)
  const up = await timed(SAMPLES, async () => await reader.getHistory({ instance_id: 'big', limit: 100, from_offset: randomOffset() }))
  const down = await timed(SAMPLES, async () => await reader.getHistory({ instance_id: 'big', limit: 100, reverse: true, from_offset: randomOffset() }))
  const at = await timed(SAMPLES, async () => await reader.getInstance({ instance_id: 'big', at_offset: Math.max(2 + others, randomOffset()) }))
  console.log(`follower GET_HISTORY page of 100, oldest first: p50 ${up.p50_ms} ms, p99 ${up.p99_ms} ms`)
  console.log(`follower GET_HISTORY page of 100, newest first: p50 ${down.p50_ms} ms, p99 ${down.p99_ms} ms`)
  console.log(`follower GET_INSTANCE at_offset: p50 ${at.p50_ms} ms, p99 ${at.p99_ms} ms`)

  await writer.compact({ force_snapshot: true })
  const late = await cluster.add('late')
  const report = late.logs().find((l) => l.message === 'storage recovered') as { duration_ms: number, snapshot_sequence: number, records_replayed: number }
  console.log(`a node started after COMPACT: ready in ${report.duration_ms} ms (snapshot at ${report.snapshot_sequence}, ${report.records_replayed} replayed, the retained stream below the snapshot read once for the index)`)
  console.log(JSON.stringify({ total: TOTAL, big: Math.ceil(TOTAL / every), head, history_up: up, history_down: down, at_offset: at, late_start_ms: report.duration_ms }))
} finally {
  for (const fn of cleanups.reverse()) await fn()
}
