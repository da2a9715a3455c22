import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { connectRcp } from './rcp-client.js'

/**
 * RCP load tool. Standard workload against any RCP address: one PUT_MACHINE, then
 * N CREATE_INSTANCEs and M APPLY_EVENTs on each instance, spread over C connections
 * with P requests in flight per connection. Connections live in worker threads so
 * the client is not the bottleneck. Prints throughput and p50/p90/p99 latency per op
 * as a table and as JSON.
 *
 *   node dist/bench/rcp.js [--address host:port] [--fsync every_write|never|…]
 *     [--connections 64] [--depth 16] [--instances 2000] [--events 10] [--workers 2] [--token T]
 *
 * Without --address a server is started on a temp data dir with the chosen fsync policy.
 */

const MACHINE = 'bench'
const DEFINITION = {
  states: ['a', 'b'],
  initial: 'a',
  transitions: [{ from: 'a', event: 'TICK', to: 'b' }, { from: 'b', event: 'TICK', to: 'a' }],
}

interface Address { host: string, port: number }

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

async function runWorker (input: WorkerInput): Promise<void> {
  const port = parentPort as NonNullable<typeof parentPort>
  const conns = await Promise.all(input.lanes.map(async () => (await connectRcp(input.address, input.token)).request))
  port.postMessage({ ready: true } satisfies FromWorker)

  async function phase (name: Phase): Promise<FromWorker> {
    const latencies: number[] = []
    let errors = 0
    let firstError: string | null = null
    await Promise.all(conns.map(async (send, i) => {
      const ids = input.lanes[i]
      // the lane's requests in order: creates, or M rounds of one event per instance
      const total = name === 'create' ? ids.length : ids.length * input.events
      let cursor = 0
      async function slot (): Promise<void> {
        while (cursor < total) {
          const k = cursor++
          const id = ids[k % ids.length]
          const started = performance.now()
          const response = name === 'create'
            ? await send('CREATE_INSTANCE', { machine: MACHINE, version: 1, instance_id: id, initial_ctx: { n: k } })
            : await send('APPLY_EVENT', { instance_id: id, event: 'TICK', payload: { k } })
          latencies.push(performance.now() - started)
          if (response.status !== 'ok') {
            errors++
            firstError ??= JSON.stringify(response.error)
          }
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

/** Starts dist/src/main.js on an ephemeral port with its own temp data dir. */
async function startServer (fsync: string): Promise<{ address: Address, child: ChildProcess, dataDir: string }> {
  const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.js')
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rstmdb-bench-'))
  // e.g. BENCH_SERVER_NODE_ARGS=--cpu-prof to profile the server
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(a => a !== '')
  const child = spawn(process.execPath, [...nodeArgs, main], {
    env: {
      ...process.env,
      RSTMDB_DATA: dataDir,
      RSTMDB_BIND: '127.0.0.1:0',
      RSTMDB_HTTP_ENABLED: 'false',
      RSTMDB_FSYNC_POLICY: fsync,
      RSTMDB_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const address = await new Promise<Address>((resolve, reject) => {
    let buffered = ''
    child.once('exit', code => reject(new Error(`server exited with ${String(code)}`)))
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString()
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        try {
          const entry = JSON.parse(line)
          if (entry.message === 'ready') resolve(parseAddress(String(entry.rcp)))
        } catch {}
      }
    })
  })
  return { address, child, dataDir }
}

function parseAddress (text: string): Address {
  const at = text.lastIndexOf(':')
  return { host: text.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(text.slice(at + 1)) }
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      address: { type: 'string' },
      fsync: { type: 'string', default: 'every_write' },
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
  const server = values.address === undefined ? await startServer(values.fsync as string) : null
  const address = server?.address ?? parseAddress(values.address as string)

  try {
    const setup = (await connectRcp(address, values.token ?? null)).request
    const put = await setup('PUT_MACHINE', { machine: MACHINE, version: 1, definition: DEFINITION })
    if (put.status !== 'ok') throw new Error(`PUT_MACHINE failed: ${JSON.stringify(put.error)}`)
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

    const rows: Array<Record<string, number | string>> = []
    for (const phase of ['create', 'apply'] as const) {
      const started = performance.now()
      for (const worker of workers) worker.postMessage({ phase } satisfies ToWorker)
      const results = await Promise.all(inbox.map(next => next())) as Array<Extract<FromWorker, { phase: Phase }>>
      const seconds = (performance.now() - started) / 1000
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
      })
      const firstError = results.find(r => r.firstError !== null)?.firstError
      if (firstError !== undefined) console.error(`${phase}: first error ${firstError}`)
    }
    await Promise.all(workers.map(async w => await w.terminate()))

    const fsync = server === null ? 'remote' : values.fsync as string
    const header = `RCP bench: ${address.host}:${address.port} fsync=${fsync} connections=${C} depth=${P} instances=${N} events/instance=${M} workers=${W}`
    console.log(header)
    console.log(['op'.padEnd(16), 'count'.padStart(8), 'errors'.padStart(7), 'ops/s'.padStart(9), 'p50 ms'.padStart(8), 'p90 ms'.padStart(8), 'p99 ms'.padStart(8)].join(' '))
    for (const r of rows) {
      console.log([String(r.op).padEnd(16), String(r.count).padStart(8), String(r.errors).padStart(7), String(r.ops_per_sec).padStart(9),
        String(r.p50_ms).padStart(8), String(r.p90_ms).padStart(8), String(r.p99_ms).padStart(8)].join(' '))
    }
    console.log(JSON.stringify({ address: `${address.host}:${address.port}`, fsync, connections: C, depth: P, instances: N, events: M, workers: W, results: rows }))
    await setup('BYE', {})
  } finally {
    if (server !== null) {
      server.child.kill('SIGTERM')
      await new Promise(resolve => server.child.once('exit', resolve))
      rmSync(server.dataDir, { recursive: true, force: true })
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
