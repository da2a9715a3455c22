/**
 * Cluster mode end to end (cluster.md): three real rstmdb nodes over NATS JetStream on
 * loopback, driven over RCP with the SDK.
 *   - APPLY_EVENT throughput and p50/p99 at 1, 16 and 64 connections (one request in flight
 *     each), through the leader and through a follower (which forwards to the leader), with
 *     the stream on three NATS servers (R3) and on one (R1): bench/rcp.js against each node;
 *   - follower lag under load: while 16 connections write through the leader, how long after
 *     the leader acknowledged a write a follower's watcher receives its event (p50/p99);
 *   - failover (R3): ten times, kill -9 of the leader, then the time until another node says
 *     it leads, and until a write through a surviving node is acknowledged (p50/max).
 * Run: npm run bench:cluster (BENCH_KILLS=10, BENCH_LEASE_MS=2000). Prints tables, then the
 * figures as one JSON line (the last line).
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'rstmdb'
import { allApplied, clusterInfo, leaderOf, startCluster, until, type NodeProcess, type TestCluster } from '../test/support/cluster.js'

const KILLS = Number(process.env.BENCH_KILLS ?? 10)
const LEASE_MS = Number(process.env.BENCH_LEASE_MS ?? 2000)
const LAG_MS = Number(process.env.BENCH_LAG_MS ?? 5000)
const RCP_BENCH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rcp.js')

const results: Array<Record<string, number | string | null>> = []
const cleanups: Array<() => unknown> = []
const teardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }

function percentile (values: number[], p: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

const round = (n: number | null): number | null => n === null ? null : Number(n.toFixed(2))

async function client (address: string): Promise<Client> {
  const c = await Client.connect({ servers: [address], clientName: 'rstmdb-bench-cluster', requestTimeoutMs: 0 })
  cleanups.push(() => c.destroy())
  return c
}

/** bench/rcp.js against one node: its JSON line's APPLY_EVENT row. */
function rcpBench (address: string, connections: number): Promise<{ ops_per_sec: number, p50_ms: number, p99_ms: number, errors: number }> {
  const args = [RCP_BENCH, '--address', address, '--connections', String(connections), '--depth', '1',
    '--instances', String(Math.max(100, connections * 40)), '--events', '10', '--workers', connections >= 16 ? '2' : '1']
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.once('error', reject)
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? ''
      try {
        const row = (JSON.parse(line) as { results: Array<{ op: string, ops_per_sec: number, p50_ms: number, p99_ms: number, errors: number }> }).results.find((r) => r.op === 'APPLY_EVENT')
        if (code !== 0 || row === undefined) throw new Error(`exit ${String(code)}`)
        resolve(row)
      } catch (err) {
        reject(new Error(`bench/rcp.js failed (${(err as Error).message}): ${out.slice(-500)}`))
      }
    })
  })
}

async function throughput (cluster: TestCluster, replicas: number): Promise<void> {
  const leader = await leaderOf(cluster.nodes)
  const follower = cluster.nodes.find((n) => n !== leader) as NodeProcess
  for (const [via, node] of [['leader', leader], ['follower', follower]] as const) {
    for (const connections of [1, 16, 64]) {
      const r = await rcpBench(node.address, connections)
      console.log(`R${replicas}  ${via.padEnd(8)} ${String(connections).padStart(5)} ${Math.round(r.ops_per_sec).toLocaleString('en-US').padStart(10)} ${r.p50_ms.toFixed(2).padStart(8)} ${r.p99_ms.toFixed(2).padStart(8)} ${String(r.errors).padStart(7)}`)
      results.push({ name: 'apply_event', replicas, via, connections, ops_per_sec: r.ops_per_sec, p50_ms: r.p50_ms, p99_ms: r.p99_ms, errors: r.errors })
    }
  }
}

/** While bench/rcp.js loads the leader, a probe writes through the leader and a watcher on a follower times each event. */
async function followerLag (cluster: TestCluster, replicas: number): Promise<void> {
  const leader = await leaderOf(cluster.nodes)
  const follower = cluster.nodes.find((n) => n !== leader) as NodeProcess
  const writer = await client(leader.address)
  const watcher = await client(follower.address)
  await writer.putMachine({ machine: 'probe', version: 1, definition: { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'TICK', to: 'a' }] } })
  const id = `probe-${Date.now().toString(36)}`
  await writer.createInstance({ machine: 'probe', version: 1, instance_id: id })
  const acked = new Map<number, number>()
  const arrived = new Map<number, number>()
  const watch = watcher.watchInstance({ instance_id: id, include_ctx: false })
  await watch.subscribed
  const reading = (async () => { for await (const e of watch) arrived.set(e.wal_offset, performance.now()) })()
  const load = rcpBench(leader.address, 16)
  const until = performance.now() + LAG_MS
  while (performance.now() < until) {
    const out = await writer.applyEvent({ instance_id: id, event: 'TICK' })
    acked.set(out.wal_offset, performance.now())
    await sleep(5)
  }
  await load
  let last = 0
  for (const offset of acked.keys()) last = Math.max(last, offset)
  const deadline = performance.now() + 30_000
  while (!arrived.has(last) && performance.now() < deadline) await sleep(20)
  await watch.close()
  await reading
  const lags = [...acked].filter(([o]) => arrived.has(o)).map(([o, at]) => Math.max(0, (arrived.get(o) as number) - at))
  const p50 = percentile(lags, 0.5)
  const p99 = percentile(lags, 0.99)
  console.log(`R${replicas} follower lag under load (16 connections through the leader): ${lags.length} probes, p50 ${String(round(p50))} ms, p99 ${String(round(p99))} ms`)
  results.push({ name: 'follower_lag', replicas, probes: lags.length, missing: acked.size - lags.length, p50_ms: round(p50), p99_ms: round(p99) })
}

/** kill -9 of the leader, KILLS times; the killed node is restarted and catches up before the next. */
async function failover (cluster: TestCluster): Promise<void> {
  const elected: number[] = []
  const writable: number[] = []
  for (let i = 0; i < KILLS; i++) {
    const leader = await leaderOf(cluster.nodes)
    const term = (await clusterInfo(leader))?.term ?? 0
    const survivor = cluster.nodes.find((n) => n !== leader) as NodeProcess
    const probe = await client(survivor.address)
    await probe.putMachine({ machine: 'probe', version: 1, definition: { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'TICK', to: 'a' }] } })
    const id = `failover-${i}-${Date.now().toString(36)}`
    await probe.createInstance({ machine: 'probe', version: 1, instance_id: id })
    const killed = performance.now()
    await leader.kill()
    const write = (async () => {
      for (;;) {
        try {
          await probe.applyEvent({ instance_id: id, event: 'TICK', idempotency_key: `k-${id}` })
          return performance.now() - killed
        } catch {
          await sleep(5)
        }
      }
    })()
    await until('a new leader', async () => {
      const infos = await Promise.all(cluster.nodes.filter((n) => n !== leader).map(async (n) => await clusterInfo(n, 500)))
      return infos.some((info) => info?.role === 'leader' && info.term > term)
    }, 60_000)
    elected.push(performance.now() - killed)
    writable.push(await write)
    console.log(`kill ${i + 1}: new leader after ${Math.round(elected[i])} ms, first write acknowledged after ${Math.round(writable[i])} ms`)
    await leader.restart()
    await allApplied(cluster.nodes, (await probe.info()).wal_offset)
  }
  results.push({ name: 'failover', kills: KILLS, lease_ms: LEASE_MS, elected_p50_ms: round(percentile(elected, 0.5)), elected_max_ms: round(Math.max(...elected)), write_p50_ms: round(percentile(writable, 0.5)), write_max_ms: round(Math.max(...writable)) })
  console.log(`failover over ${KILLS} kills (lease ${LEASE_MS} ms): new leader p50 ${Math.round(percentile(elected, 0.5) ?? 0)} ms, max ${Math.round(Math.max(...elected))} ms; first write p50 ${Math.round(percentile(writable, 0.5) ?? 0)} ms, max ${Math.round(Math.max(...writable))} ms`)
}

try {
  for (const replicas of [3, 1]) {
    const cluster = await startCluster(teardown, {
      nats: replicas,
      env: { RSTMDB_CLUSTER_LEASE_MS: String(LEASE_MS) },
    })
    console.log(`\nR${replicas}: ${cluster.nats.servers.length} NATS server(s), 3 rstmdb nodes`)
    console.log('     via      conns   apply/s   p50 ms   p99 ms  errors')
    await throughput(cluster, replicas)
    await followerLag(cluster, replicas)
    if (replicas === 3 && KILLS > 0) await failover(cluster)
    for (const fn of cleanups.splice(0).reverse()) await fn()
  }
  console.log(JSON.stringify({ kills: KILLS, lease_ms: LEASE_MS, results }))
} finally {
  for (const fn of cleanups.reverse()) await fn()
}
