import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import WebSocket from 'ws'
import { Pool } from 'undici'
import { Client } from 'rstmdb'
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { processCpuMicros } from './process-cpu.js'
import { freePort, MAIN, removeDir, serverEnv } from './server.js'
import { sseParser } from './sse-parser.js'

/**
 * `node dist/bench/http.js [seconds] [--fanout]`: REST APPLY_EVENT throughput and latency at
 * 1/16/64 keep-alive connections next to the same load over RCP (left out with --fanout),
 * then fan-out to 100 and 1,000 WebSocket subscribers and as many SSE streams (commit =
 * the write's response, to delivery). Prints a table, then the figures as one JSON line
 * (the last line).
 */
const SECONDS = Number(process.argv.slice(2).find(arg => !arg.startsWith('--')) ?? 3)
const FANOUT_ONLY = process.argv.includes('--fanout')
const LOOP = { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'TICK', to: 'a' }] }

function percentile (sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}
const ms = (n: number): string => `${n.toFixed(2)} ms`
/** milliseconds for the JSON line: NaN (nothing measured) becomes null */
const msField = (n: number): number | null => Number.isNaN(n) ? null : Number(n.toFixed(2))
const results: Array<Record<string, number | string | null>> = []

/** undici: a lean keep-alive client, so the figures measure the gateway rather than node:http's client */
async function post (pool: Pool, path: string, body: unknown): Promise<number> {
  const { statusCode, body: answer } = await pool.request({
    path,
    method: path.startsWith('/v1/machines') ? 'PUT' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  await answer.dump()
  return statusCode
}

async function run (connections: number, step: (worker: number) => Promise<void>): Promise<{ rate: number, p50: number, p99: number, cpuUs: number }> {
  const cpuBefore = processCpuMicros(child.pid as number)
  const latencies: number[] = []
  const until = performance.now() + SECONDS * 1000
  await Promise.all(Array.from({ length: connections }, async (_, worker) => {
    while (performance.now() < until) {
      const start = performance.now()
      await step(worker)
      latencies.push(performance.now() - start)
    }
  }))
  const cpuUs = (processCpuMicros(child.pid as number) - cpuBefore) / latencies.length
  latencies.sort((a, b) => a - b)
  return { rate: latencies.length / SECONDS, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), cpuUs }
}

// request logs off (level warn), so the figures are the gateway's and not the log pipe's
const [port, rcpPort] = [await freePort(), await freePort()]
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rstmdb-bench-'))
const child = spawn(process.execPath, [MAIN], {
  env: serverEnv(dataDir, {
    RSTMDB_BIND: `127.0.0.1:${rcpPort}`,
    RSTMDB_HTTP_ENABLED: 'true',
    RSTMDB_HTTP_BIND: `127.0.0.1:${port}`,
    RSTMDB_LOG_LEVEL: 'warn',
    RSTMDB_SUBSCRIPTION_QUEUE_LIMIT: '100000',
  }),
  stdio: 'inherit',
})
for (let i = 0; i < 200; i++) {
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(r => r.ok, () => false)
  if (ready) break
  await new Promise(resolve => setTimeout(resolve, 50))
}
const setup = new Pool(`http://127.0.0.1:${port}`, { connections: 1 })
await post(setup, '/v1/machines/loop/versions/1', LOOP)
for (let i = 0; i < 64; i++) await post(setup, '/v1/instances', { machine: 'loop', version: 1, instance_id: `i-${i}` })
await setup.close()

if (!FANOUT_ONLY) process.stdout.write(`APPLY_EVENT, ${SECONDS} s per row, fsync every_write\n`)
for (const connections of FANOUT_ONLY ? [] : [1, 16, 64]) {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections })
  const rest = await run(connections, async w => {
    const status = await post(pool, `/v1/instances/i-${w}/events`, { event: 'TICK', payload: { w } })
    if (status !== 200) throw new Error(`status ${status}`)
  })
  await pool.close()
  const clients = await Promise.all(Array.from({ length: connections }, async () => await Client.connect({ servers: [`127.0.0.1:${rcpPort}`], wireMode: 'jsonl' })))
  const rcp = await run(connections, async w => {
    await clients[w].applyEvent({ instance_id: `i-${w}`, event: 'TICK', payload: { w } })
  })
  for (const c of clients) c.destroy()
  for (const [face, r] of [['rest', rest], ['rcp', rcp]] as const) {
    results.push({ name: 'apply_event', face, connections, ops_per_sec: Math.round(r.rate), p50_ms: msField(r.p50), p99_ms: msField(r.p99), server_cpu_us_per_op: Math.round(r.cpuUs) })
  }
  process.stdout.write(`  ${String(connections).padStart(2)} conn  REST ${rest.rate.toFixed(0).padStart(6)}/s p50 ${ms(rest.p50)} p99 ${ms(rest.p99)}` +
    `  |  RCP ${rcp.rate.toFixed(0).padStart(6)}/s p50 ${ms(rcp.p50)} p99 ${ms(rcp.p99)}  |  REST/RCP ${(100 * rest.rate / rcp.rate).toFixed(0)} %` +
    `  |  server CPU/op REST ${rest.cpuUs.toFixed(0)} µs, RCP ${rcp.cpuUs.toFixed(0)} µs\n`)
}

/**
 * One fan-out subscriber: WATCH_ALL on loop without ctx, reporting each event's arrival;
 * resolves once subscribed, with a function that drops it.
 */
type Subscribe = (arrived: (offset: number, at: number) => void) => Promise<() => void>

const WATCH_QUERY = 'machines=loop&include_ctx=false'
const FACES: Array<{ face: 'ws' | 'sse', label: string, subscribe: Subscribe }> = [
  {
    face: 'ws',
    label: 'WebSocket',
    subscribe: arrived => new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/watch?${WATCH_QUERY}`)
      ws.on('message', (data: Buffer) => {
        const at = performance.now()
        const m = JSON.parse(data.toString())
        if (m.id === 'open') resolve(() => ws.terminate())
        else if (m.type === 'event') arrived(m.wal_offset, at)
      })
      ws.on('error', reject)
    }),
  },
  {
    // what a page's EventSource does: one GET per stream on a connection of its own
    face: 'sse',
    label: 'SSE',
    subscribe: arrived => new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: `/v1/events?${WATCH_QUERY}`, agent: false, headers: { accept: 'text/event-stream' } }, res => {
        const parse = sseParser(message => {
          const at = performance.now()
          const m = JSON.parse(message.data)
          if (m.type === 'event') arrived(m.wal_offset, at)
        }, () => resolve(() => req.destroy()))
        res.setEncoding('utf8')
        res.on('data', parse)
      })
      req.on('error', reject)
    }),
  },
]

process.stdout.write('Fan-out (WATCH_ALL, include_ctx=false), 50 sequential REST writes\n')
for (const subscribers of [100, 1000]) {
  for (const { face, label, subscribe } of FACES) {
    const arrivals = new Map<number, number[]>()
    const record = (offset: number, at: number): void => {
      let list = arrivals.get(offset)
      if (list === undefined) arrivals.set(offset, list = [])
      list.push(at)
    }
    const drops = await Promise.all(Array.from({ length: subscribers }, async () => await subscribe(record)))
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    // per write: when it was sent, and when its response (the commit acknowledgement) arrived
    const writes = new Map<number, { sent: number, acked: number }>()
    for (let i = 0; i < 50; i++) {
      const sent = performance.now()
      const offset = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/v1/instances/i-0/events', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, res => {
          let text = ''
          res.on('data', (d: Buffer) => { text += d.toString() })
          res.on('end', () => resolve(JSON.parse(text).wal_offset))
        })
        req.on('error', reject)
        req.end(JSON.stringify({ event: 'TICK' }))
      })
      writes.set(offset, { sent, acked: performance.now() })
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    for (let i = 0; i < 200 && [...writes.keys()].some(o => (arrivals.get(o)?.length ?? 0) < subscribers); i++) {
      await new Promise(resolve => setTimeout(resolve, 25))
    }
    // events and the response leave after the same commit, so the events often arrive first:
    // commit→delivery is measured from the send, next to the response time of the same writes
    const delivery: number[] = []
    const acks: number[] = []
    for (const [offset, { sent, acked }] of writes) {
      acks.push(acked - sent)
      for (const arrival of arrivals.get(offset) ?? []) delivery.push(arrival - sent)
    }
    delivery.sort((a, b) => a - b)
    acks.sort((a, b) => a - b)
    process.stdout.write(`  ${label.padEnd(9)} S=${String(subscribers).padStart(4)}  deliveries ${delivery.length}/${50 * subscribers}` +
      `  write sent→response p50 ${ms(percentile(acks, 0.5))} p99 ${ms(percentile(acks, 0.99))}` +
      `  write sent→delivery p50 ${ms(percentile(delivery, 0.5))} p99 ${ms(percentile(delivery, 0.99))} max ${ms(delivery[delivery.length - 1] ?? NaN)}\n`)
    results.push({
      name: 'fanout',
      face,
      subscribers,
      writes: writes.size,
      deliveries: delivery.length,
      expected_deliveries: writes.size * subscribers,
      response_p50_ms: msField(percentile(acks, 0.5)),
      response_p99_ms: msField(percentile(acks, 0.99)),
      delivery_p50_ms: msField(percentile(delivery, 0.5)),
      delivery_p99_ms: msField(percentile(delivery, 0.99)),
    })
    agent.destroy()
    for (const drop of drops) drop()
  }
}

setup.destroy()
child.kill('SIGTERM')
await new Promise(resolve => child.once('exit', resolve))
removeDir(dataDir)
// after the server's exit, so none of its output (it shares stdout) can follow this line
process.stdout.write(`${JSON.stringify({ seconds: SECONDS, fsync: 'every_write', results })}\n`)
