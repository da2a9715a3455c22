import { performance } from 'node:perf_hooks'
import { createEngine } from '../src/engine/index.js'
import type { Engine } from '../src/engine/types.js'

/**
 * Engine benchmark: apply-event decisions/s (decide + apply, sequences assigned here),
 * LIST_INSTANCES page latency with a state filter and `after` over 1,000,000 instances,
 * and heap bytes per instance. Run with `npm run bench:engine` (node --expose-gc).
 * Prints a table, then the figures as one JSON line (the last line).
 */

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1_000_000)
const APPLIES = 300_000
const PAGES = 2_000
const STATES = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9']

let sequence = 0
function write (engine: Engine, op: 'PUT_MACHINE' | 'CREATE_INSTANCE' | 'APPLY_EVENT', params: Record<string, unknown>): void {
  const d = engine.decide(op, params)
  const seqs = d.entries.map((entry) => {
    const s = ++sequence
    engine.apply(entry, s)
    return s
  })
  d.finish(seqs)
}

// a ~100-byte ctx
const ctx = (i: number) => ({ customer: `customer-${i % 1000}`, amount: i % 500, currency: 'EUR', tags: ['a', 'b'], ok: true })

function gc (): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g) { g(); g() }
}

function loop (guarded: boolean): number {
  const engine = createEngine()
  const transitions = STATES.map((s, i) => ({
    from: s,
    event: 'NEXT',
    to: STATES[(i + 1) % STATES.length],
    ...(guarded ? { guard: 'ctx.amount >= 0 && ctx.customer != "" && ctx.tags.length > 1' } : {}),
  }))
  write(engine, 'PUT_MACHINE', { machine: 'm', version: 1, definition: { states: STATES, initial: 's0', transitions } })
  const n = 10_000
  for (let i = 0; i < n; i++) write(engine, 'CREATE_INSTANCE', { machine: 'm', version: 1, instance_id: `i-${i}`, initial_ctx: ctx(i) })
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      write(engine, 'APPLY_EVENT', { instance_id: `i-${i % n}`, event: 'NEXT', payload: { amount: i % 500 } })
    }
  }
  run(50_000)
  const t0 = performance.now()
  run(APPLIES)
  const secs = (performance.now() - t0) / 1000
  return Math.round(APPLIES / secs)
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

function listing (): { live: number, p50: number, p99: number, perInstance: number, perCtx: number } {
  gc()
  const before = process.memoryUsage().heapUsed
  const engine = createEngine()
  write(engine, 'PUT_MACHINE', {
    machine: 'm',
    version: 1,
    definition: { states: STATES, initial: 's0', transitions: STATES.map((s, k) => ({ from: 's0', event: `to${k}`, to: s })) },
  })
  const ctxs: object[] = []
  for (let i = 0; i < INSTANCES; i++) {
    const c = ctx(i)
    ctxs.push(c)
    const id = `inst-${((i * 7919) % INSTANCES).toString().padStart(7, '0')}`
    write(engine, 'CREATE_INSTANCE', { machine: 'm', version: 1, instance_id: id, initial_ctx: c })
    write(engine, 'APPLY_EVENT', { instance_id: id, event: `to${i % 10}`, payload: null })
  }
  gc()
  const withEngine = process.memoryUsage().heapUsed
  ctxs.length = 0
  // ctx objects are shared with the instances, so measure them alone on a fresh set
  gc()
  const base2 = process.memoryUsage().heapUsed
  const alone: object[] = []
  for (let i = 0; i < INSTANCES; i++) alone.push(ctx(i))
  gc()
  const ctxBytes = (process.memoryUsage().heapUsed - base2) / INSTANCES
  alone.length = 0
  const perInstance = (withEngine - before) / INSTANCES

  const times: number[] = []
  let after: string | undefined
  for (let i = 0; i < PAGES; i++) {
    const t0 = performance.now()
    const page = engine.read('LIST_INSTANCES', { state: 's3', limit: 100, ...(after !== undefined ? { after } : {}) })
    times.push(performance.now() - t0)
    after = (page.next_after ?? undefined) as string | undefined
  }
  times.sort((a, b) => a - b)
  return { live: engine.stats().instances, p50: percentile(times, 0.5), p99: percentile(times, 0.99), perInstance, perCtx: ctxBytes }
}

const unguarded = loop(false)
const guarded = loop(true)
const list = listing()
const exactHeap = (globalThis as { gc?: () => void }).gc !== undefined
const p50 = Number(list.p50.toFixed(3))
const p99 = Number(list.p99.toFixed(3))
const heap = {
  instances_live: list.live,
  bytes_per_instance: Math.round(list.perInstance),
  bytes_per_ctx: Math.round(list.perCtx),
  bytes_per_instance_beyond_ctx: Math.round(list.perInstance - list.perCtx),
}

const table: Array<[string, string]> = [
  ['apply-event decide+apply without guard', `${unguarded.toLocaleString('en-US')} /s`],
  ['apply-event decide+apply with guard', `${guarded.toLocaleString('en-US')} /s`],
  ['instances (live)', heap.instances_live.toLocaleString('en-US')],
  ['LIST_INSTANCES state filter, 100 rows, after: p50', `${p50.toFixed(3)} ms`],
  ['LIST_INSTANCES state filter, 100 rows, after: p99', `${p99.toFixed(3)} ms`],
  ['heap bytes per instance (total)', `${heap.bytes_per_instance}`],
  ['heap bytes per ctx alone', `${heap.bytes_per_ctx}`],
  ['heap bytes per instance beyond its ctx', `${heap.bytes_per_instance_beyond_ctx}`],
]
const width = Math.max(...table.map(([k]) => k.length))
console.log(`${'metric'.padEnd(width)} | value`)
console.log(`${'-'.repeat(width)}-|-${'-'.repeat(16)}`)
for (const [k, v] of table) console.log(`${k.padEnd(width)} | ${v}`)
if (!exactHeap) console.log('(run with node --expose-gc for exact heap figures)')
console.log(JSON.stringify({
  instances: INSTANCES,
  applies: APPLIES,
  exact_heap: exactHeap,
  results: [
    { name: 'apply_event', guard: false, ops_per_sec: unguarded },
    { name: 'apply_event', guard: true, ops_per_sec: guarded },
    { name: 'list_instances', filter: 'state', limit: 100, pages: PAGES, p50_ms: p50, p99_ms: p99 },
    { name: 'heap', ...heap },
  ],
}))
