import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { Client } from 'rstmdb'
import { formatAddress, parseAddress, type Address } from '../protocol/address.js'
import { processCpuMicros } from './process-cpu.js'
import { launchServer, removeDir, type RunningServer } from './server.js'

/**
 * RCP load tool. Standard workload against any RCP address: one PUT_MACHINE, then
 * N CREATE_INSTANCEs and M APPLY_EVENTs on each instance, spread over C connections
 * with P requests in flight per connection (P = 1: how SDK and CLI users call it).
 * Connections live in worker threads so the client is not the bottleneck. Prints
 * throughput, p50/p90/p99 latency and the server's CPU time per op as a table and as JSON.
 *
 *   node dist/bench/rcp.js [--address host:port [--pid N]] [--fsync every_write|never|…]
 *     [--connections 64] [--depth 16] [--instances 2000] [--events 10] [--workers 2] [--token T]
 *
 * Without --address a server is started on a temp data dir with the chosen fsync policy.
 * With --address, --pid names the server's process on this machine (for its CPU time) and
 * --fsync only labels the output with the remote server's policy.
 */

const MACHINE = 'bench'
const DEFINITION = {
  states: ['a', 'b'],
  initial: 'a',
  transitions: [{ from: 'a', event: 'TICK', to: 'b' }, { from: 'b', event: 'TICK', to: 'a' }],
}

interface WorkerInput {
  address: Address
  token: string | null
  /** instance ids this worker's connections own, one list per connection */
  lanes: string[][]
  depth: number
  events: number
}

type Phase = 'create' | 'apply'
type ToWorker = { phase: Phase }
type FromWorker = { ready: true } | { phase: Phase, latencies: Float64Array, errors: number, firstError: string | null }

function connect (address: Address, token: string | null): Promise<Client> {
  // no request timeouts: a slow answer under load is a latency figure, not an error
  return Client.connect({ servers: [formatAddress(address)], token: token ?? undefined, clientName: 'rstmdb-bench', requestTimeoutMs: 0 })
}

async function runWorker (input: WorkerInput): Promise<void> {
  const port = parentPort as NonNullable<typeof parentPort>
  const conns = await Promise.all(input.lanes.map(async () => await connect(input.address, input.token)))
  port.postMessage({ ready: true } satisfies FromWorker)

  async function phase (name: Phase): Promise<FromWorker> {
    const latencies: number[] = []
    let errors = 0
    let firstError: string | null = null
    await Promise.all(conns.map(async (client, i) => {
      const ids = input.lanes[i]
      // the lane's requests in order: creates, or M rounds of one event per instance
      const total = name === 'create' ? ids.length : ids.length * input.events
      let cursor = 0
      async function slot (): Promise<void> {
        while (cursor < total) {
          const k = cursor++
          const id = ids[k % ids.length]
          const started = performance.now()
          try {
            if (name === 'create') await client.createInstance({ machine: MACHINE, version: 1, instance_id: id, initial_ctx: { n: k } })
            else await client.applyEvent({ instance_id: id, event: 'TICK', payload: { k } })
          } catch (err) {
            errors++
            firstError ??= JSON.stringify(err)
          }
          latencies.push(performance.now() - started)
        }
      }
      await Promise.all(Array.from({ length: input.depth }, slot))
    }))
    return { phase: name, latencies: Float64Array.from(latencies), errors, firstError }
  }

  port.on('message', (message: ToWorker) => {
    phase(message.phase).then(result => port.postMessage(result, [(result as { latencies: Float64Array }).latencies.buffer as ArrayBuffer]), err => { throw err })
  })
}

function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

function addressOf (text: string): Address {
  const address = parseAddress(text)
  if (address === null) throw new Error(`--address: not host:port: ${text}`)
  return address
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      address: { type: 'string' },
      pid: { type: 'string' },
      fsync: { type: 'string' },
      connections: { type: 'string', default: '64' },
      depth: { type: 'string', default: '16' },
      instances: { type: 'string', default: '2000' },
      events: { type: 'string', default: '10' },
      workers: { type: 'string', default: String(Math.max(1, Math.min(4, os.availableParallelism() - 1))) },
      token: { type: 'string' },
    },
  })
  const C = Number(values.connections)
  const P = Number(values.depth)
  const N = Number(values.instances)
  const M = Number(values.events)
  const W = Math.min(Number(values.workers), C)
  // e.g. BENCH_SERVER_NODE_ARGS=--cpu-prof to profile the server
  const server: RunningServer | null = values.address === undefined
    ? await launchServer({
      env: { RSTMDB_FSYNC_POLICY: values.fsync ?? 'every_write' },
      nodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(a => a !== ''),
    })
    : null
  const address = server === null ? addressOf(values.address as string) : { host: '127.0.0.1', port: server.rcpPort }
  const pid = server === null ? (values.pid === undefined ? null : Number(values.pid)) : server.child.pid as number
  const cpuMicros = (): number | null => pid === null ? null : processCpuMicros(pid)

  try {
    const setup = await connect(address, values.token ?? null)
    await setup.putMachine({ machine: MACHINE, version: 1, definition: DEFINITION })
    const run = `${Date.now().toString(36)}-`
    const lanes: string[][] = Array.from({ length: C }, () => [])
    for (let i = 0; i < N; i++) lanes[i % C].push(`${run}${i}`)

    const workers = Array.from({ length: W }, (_, w) => new Worker(fileURLToPath(import.meta.url), {
      workerData: {
        address,
        token: values.token ?? null,
        lanes: lanes.filter((_, i) => i % W === w),
        depth: P,
        events: M,
      } satisfies WorkerInput,
    }))
    const inbox = workers.map(worker => {
      const queue: FromWorker[] = []
      const waiters: Array<(m: FromWorker) => void> = []
      worker.on('message', (m: FromWorker) => { const w = waiters.shift(); if (w !== undefined) w(m); else queue.push(m) })
      worker.on('error', err => { console.error(err); process.exit(1) })
      return (): Promise<FromWorker> => new Promise(resolve => { const m = queue.shift(); if (m !== undefined) resolve(m); else waiters.push(resolve) })
    })
    await Promise.all(inbox.map(next => next()))

    const rows: Array<Record<string, number | string | null>> = []
    for (const phase of ['create', 'apply'] as const) {
      const cpuBefore = cpuMicros()
      const started = performance.now()
      for (const worker of workers) worker.postMessage({ phase } satisfies ToWorker)
      const results = await Promise.all(inbox.map(next => next())) as Array<Extract<FromWorker, { phase: Phase }>>
      const seconds = (performance.now() - started) / 1000
      const cpuAfter = cpuMicros()
      const all = new Float64Array(results.reduce((n, r) => n + r.latencies.length, 0))
      let at = 0
      for (const r of results) { all.set(r.latencies, at); at += r.latencies.length }
      all.sort()
      const errors = results.reduce((n, r) => n + r.errors, 0)
      rows.push({
        op: phase === 'create' ? 'CREATE_INSTANCE' : 'APPLY_EVENT',
        count: all.length,
        errors,
        ops_per_sec: Math.round(all.length / seconds),
        p50_ms: Number(percentile(all, 0.5).toFixed(2)),
        p90_ms: Number(percentile(all, 0.9).toFixed(2)),
        p99_ms: Number(percentile(all, 0.99).toFixed(2)),
        server_cpu_us_per_op: cpuBefore === null || cpuAfter === null ? null : Math.round((cpuAfter - cpuBefore) / all.length),
      })
      const firstError = results.find(r => r.firstError !== null)?.firstError
      if (firstError !== undefined) console.error(`${phase}: first error ${firstError}`)
    }
    await Promise.all(workers.map(async w => await w.terminate()))

    const fsync = values.fsync ?? (server === null ? 'remote' : 'every_write')
    const header = `RCP bench: ${address.host}:${address.port} fsync=${fsync} connections=${C} depth=${P} instances=${N} events/instance=${M} workers=${W}`
    console.log(header)
    console.log(['op'.padEnd(16), 'count'.padStart(8), 'errors'.padStart(7), 'ops/s'.padStart(9), 'p50 ms'.padStart(8), 'p90 ms'.padStart(8), 'p99 ms'.padStart(8), 'CPU µs/op'.padStart(10)].join(' '))
    for (const r of rows) {
      console.log([String(r.op).padEnd(16), String(r.count).padStart(8), String(r.errors).padStart(7), String(r.ops_per_sec).padStart(9),
        String(r.p50_ms).padStart(8), String(r.p90_ms).padStart(8), String(r.p99_ms).padStart(8), String(r.server_cpu_us_per_op ?? '-').padStart(10)].join(' '))
    }
    console.log(JSON.stringify({ address: `${address.host}:${address.port}`, fsync, connections: C, depth: P, instances: N, events: M, workers: W, results: rows }))
    await setup.close()
  } finally {
    if (server !== null) {
      await server.stop()
      removeDir(server.dataDir)
    }
  }
}

if (isMainThread) {
  main().then(() => process.exit(0), err => {
    console.error(err)
    process.exit(1)
  })
} else {
  void runWorker(workerData as WorkerInput)
}
