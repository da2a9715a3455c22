/**
 * History benchmark (history.md §7): a WAL of 2,000,000 records, written straight in the
 * record format, in which one instance has 200,000 entries (every 10th record) and
 * 20,000 others share the rest. Measures:
 *   - GET_HISTORY pages of 100 for the big instance from random from_offsets, both
 *     directions, p50/p99 (through the dispatcher: validation, index, reads, items);
 *   - GET_INSTANCE at_offset on it at random offsets, p50/p99;
 *   - index bytes per retained entry (heap measured, and the sparse position points);
 *   - recovery time with the index vs without (storage scan alone, and with engine replay).
 * Run: npm run bench:history (RECORDS=… and HOT_EVERY=… scale it). Prints a table, then
 * the figures as one JSON line (the last line).
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { WalEntry } from '../protocol/entries.js'
import { DEFAULT_COMPACTION, DEFAULT_STORAGE } from '../src/config/schema.js'
import { createEngine } from '../src/engine/index.js'
import type { SnapshotLine } from '../src/engine/types.js'
import { openDatabase } from '../src/ops/index.js'
import { prng } from './prng.js'
import { encodeRecord, HistoryIndex, segmentName } from '../storage/index.js'
import { stampRecord } from '../storage/record.js'
import { recover } from '../storage/recovery.js'
import type { RecoveryTarget } from '../storage/recovery.js'
import { silentLogger } from '../storage/logger.js'

const RECORDS = Number(process.env.RECORDS ?? 2_000_000)
const HOT_EVERY = Number(process.env.HOT_EVERY ?? 10)
const OTHERS = 20_000
const SEGMENT_BYTES = 64 * 1024 * 1024
const SAMPLES = 1000
/** recoveries per kind, each in a fresh process, with and without the index alternately; the best of each counts */
const RECOVERY_RUNS = Number(process.env.RECOVERY_RUNS ?? 3)
const HOT = 'order-hot'
const TS0 = Date.UTC(2025, 0, 15)

function gc (): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) { g(); g() }
}

const heapBytes = (): number => {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

const ms = (n: number): string => n.toFixed(3).padStart(9)

/** The n-th record of the benchmark WAL (1-based sequence): the hot instance every HOT_EVERY-th, creates first, then events round-robin. */
function entryAt (seq: number): WalEntry {
  const ts = TS0 + seq
  if (seq === 1) return { type: 'put_machine', machine: 'order', version: 1, definition_hash: '', definition: { states: ['open', 'closed'], initial: 'open', transitions: [{ from: ['open', 'closed'], event: 'NOTE', to: 'open' }, { from: ['open'], event: 'CLOSE', to: 'closed' }] }, ts }
  if (seq === 2) return { type: 'create_instance', instance_id: HOT, machine: 'order', version: 1, initial_state: 'open', initial_ctx: { n: 0 }, ts }
  if (seq % HOT_EVERY === 0) return { type: 'apply_event', instance_id: HOT, machine: 'order', version: 1, event: 'NOTE', from_state: 'open', to_state: 'open', payload: { n: seq }, ctx: { n: seq, note: 'hot' }, ts }
  const other = seq - 2 - Math.floor(seq / HOT_EVERY)
  const id = `order-${other % OTHERS}`
  if (other < OTHERS) return { type: 'create_instance', instance_id: id, machine: 'order', version: 1, initial_state: 'open', initial_ctx: { n: 0 }, ts }
  return { type: 'apply_event', instance_id: id, machine: 'order', version: 1, event: 'NOTE', from_state: 'open', to_state: 'open', payload: { n: seq }, ctx: { n: seq, note: 'other' }, ts }
}

/** Writes the WAL segment by segment; returns its size in bytes. */
function buildWal (dataDir: string): number {
  const walDir = path.join(dataDir, 'wal')
  fs.mkdirSync(walDir, { recursive: true })
  let id = 1
  let chunk: Buffer[] = []
  let chunkBytes = 0
  let total = 0
  const flush = (): void => {
    fs.writeFileSync(path.join(walDir, segmentName(id++)), Buffer.concat(chunk))
    total += chunkBytes
    chunk = []
    chunkBytes = 0
  }
  for (let seq = 1; seq <= RECORDS; seq++) {
    const record = encodeRecord(entryAt(seq))
    stampRecord(record, seq, false)
    if (chunkBytes + record.length > SEGMENT_BYTES) flush()
    chunk.push(record)
    chunkBytes += record.length
  }
  flush()
  return total
}

const noTarget: RecoveryTarget = { restore () {}, apply () {} }

function engineTarget (): RecoveryTarget {
  const engine = createEngine()
  return { restore: (line) => { engine.restore(line as SnapshotLine) }, apply: (entry, seq) => { engine.apply(entry, seq) }, stats: () => engine.stats() }
}

/** In this (fresh) process: one recovery of the directory; prints its time and the sparse points it built. */
async function recoverOnce (dataDir: string, replay: boolean, indexed: boolean): Promise<void> {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const { segments } = await recover({ dataDir, skipCorruptRecords: false, logger: silentLogger, target: replay ? engineTarget() : noTarget, index: indexed ? new HistoryIndex() : undefined })
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(c0)
  process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, points: segments.reduce((n, seg) => n + seg.indexSeqs.length, 0) }))
}

/** A child process of this program with `args`, its JSON output parsed: each measurement starts from a fresh heap, as a server does. */
function child (args: string[]): Record<string, number> {
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', maxBuffer: 1 << 20 })) as Record<string, number>
}

interface RecoveryTimes { without: number, with: number, cpuWithout: number, cpuWith: number, points: number }

/**
 * Best of `runs` recoveries, each in a fresh process, alternating with and without the index
 * so the host's load favours neither; wall time and the process's CPU time (less disturbed
 * by other processes on a shared host).
 */
function recoveryTimes (dataDir: string, replay: boolean, runs: number): RecoveryTimes {
  const best: RecoveryTimes = { without: Infinity, with: Infinity, cpuWithout: Infinity, cpuWith: Infinity, points: 0 }
  for (let i = 0; i < runs; i++) {
    for (const indexed of [false, true]) {
      const r = child(['--recover', dataDir, replay ? 'replay' : 'scan', indexed ? 'index' : 'plain'])
      if (indexed) {
        best.with = Math.min(best.with, r.ms)
        best.cpuWith = Math.min(best.cpuWith, r.cpuMs)
      } else {
        best.without = Math.min(best.without, r.ms)
        best.cpuWithout = Math.min(best.cpuWithout, r.cpuMs)
      }
      best.points = r.points
    }
  }
  return best
}

/**
 * Heap taken by an index of the instance entries, per entry: one index of the big instance
 * alone, then one of everything. The entry objects are made before the baseline (recovery
 * holds each one only while indexing it, and the instance ids are the engine's strings).
 */
function indexBytes (): { entries: number, instances: number, bytesPerEntry: number, hotBytesPerEntry: number } {
  const ids = [HOT, ...Array.from({ length: OTHERS }, (_, i) => `order-${i}`)]
  const creates = new Map(ids.map(id => [id, { type: 'create_instance', instance_id: id } as WalEntry]))
  const applies = new Map(ids.map(id => [id, { type: 'apply_event', instance_id: id } as WalEntry]))
  const shapes: Array<WalEntry | null> = new Array(RECORDS + 1).fill(null)
  for (let seq = 1; seq <= RECORDS; seq++) {
    const e = entryAt(seq)
    if (e.type !== 'put_machine') shapes[seq] = ((e.type === 'create_instance' ? creates : applies).get((e as { instance_id: string }).instance_id)) as WalEntry
  }
  const measure = (only: string | null): { bytes: number, entries: number, instances: number } => {
    gc()
    const before = heapBytes()
    const index = new HistoryIndex()
    for (let seq = 1; seq <= RECORDS; seq++) {
      const e = shapes[seq]
      if (e !== null && (only === null || (e as { instance_id: string }).instance_id === only)) index.addEntry(seq, e)
    }
    gc()
    return { bytes: heapBytes() - before, entries: index.entries, instances: index.instances }
  }
  const hot = measure(HOT)
  const all = measure(null)
  return { entries: all.entries, instances: all.instances, bytesPerEntry: all.bytes / all.entries, hotBytesPerEntry: hot.bytes / hot.entries }
}

interface Timing { p50: number, p99: number, max: number, cpuP50: number, cpuP99: number }

/**
 * Wall time per call and, beside it, the CPU time the process spent on it (threads included):
 * on a shared host the wall-time tail also holds the time other processes had the CPU.
 */
/** In this (fresh) process: heap bytes per entry when every instance has `perInstance` entries (about 1,000,000 in all). */
function bytesPerEntryAt (perInstance: number): number {
  const instances = Math.max(1, Math.floor(1_000_000 / perInstance))
  const creates = Array.from({ length: instances }, (_, i) => ({ type: 'create_instance', instance_id: `shape-${i}` }) as WalEntry)
  const applies = creates.map(c => ({ type: 'apply_event', instance_id: (c as { instance_id: string }).instance_id }) as WalEntry)
  gc()
  const before = heapBytes()
  const index = new HistoryIndex()
  let seq = 0
  for (let round = 0; round < perInstance; round++) {
    for (let i = 0; i < instances; i++) index.addEntry(++seq, round === 0 ? creates[i] : applies[i])
  }
  gc()
  const bytes = heapBytes() - before
  // the entries stay alive until after the measurement (recovery's engine holds the ids)
  if (creates.length + applies.length === 0) throw new Error('no entries')
  return bytes / index.entries
}

async function timed (runs: number, call: (i: number) => Promise<unknown>): Promise<Timing> {
  const times: number[] = []
  const cpu: number[] = []
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    await call(i)
    times.push(performance.now() - t0)
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000)
  }
  times.sort((a, b) => a - b)
  cpu.sort((a, b) => a - b)
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), max: times[times.length - 1], cpuP50: percentile(cpu, 0.5), cpuP99: percentile(cpu, 0.99) }
}

const round = (n: number): number => Number(n.toFixed(3))
const timingRow = (name: string, t: Timing): string => `${name.padEnd(33)} ${ms(t.p50)} ${ms(t.p99)} ${ms(t.max)} ${ms(t.cpuP50)} ${ms(t.cpuP99)}`
const timingFields = (t: Timing): Record<string, number> => ({ p50_ms: round(t.p50), p99_ms: round(t.p99), max_ms: round(t.max), cpu_p50_ms: round(t.cpuP50), cpu_p99_ms: round(t.cpuP99) })

/** Seeded uniform offsets in [1, head], so runs are comparable. */
function offsets (seed: number, head: number): () => number {
  const rand = prng(seed)
  return () => 1 + Math.floor(rand() * head)
}

if (process.argv[2] === '--recover') {
  await recoverOnce(process.argv[3], process.argv[4] === 'replay', process.argv[5] === 'index')
  process.exit(0)
}
if (process.argv[2] === '--shape') {
  process.stdout.write(JSON.stringify({ bytes: bytesPerEntryAt(Number(process.argv[3])) }))
  process.exit(0)
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rstmdb-bench-history-'))
const results: Array<Record<string, number | string | boolean | null>> = []
try {
  // first, while the heap holds nothing else
  const mem = indexBytes()
  const shapes = [1, 2, 5, 10, 32, 33, 100, 1000].map(n => ({ perInstance: n, bytes: child(['--shape', String(n)]).bytes }))
  let t0 = performance.now()
  const walBytes = buildWal(dir)
  const hotEntries = 1 + Math.floor(RECORDS / HOT_EVERY)
  console.log(`WAL: ${RECORDS.toLocaleString('en-US')} records (${hotEntries.toLocaleString('en-US')} of ${HOT}, the rest over ${OTHERS.toLocaleString('en-US')} instances), ${(walBytes / 1048576).toFixed(0)} MiB, written in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

  const scan = recoveryTimes(dir, false, RECOVERY_RUNS)
  const replay = recoveryTimes(dir, true, RECOVERY_RUNS)
  console.log(`\nrecovery (best of ${RECOVERY_RUNS} fresh processes)   without index   with index   ratio    CPU without   CPU with   ratio`)
  for (const [name, r] of [['storage scan', scan], ['scan + engine replay', replay]] as const) {
    const cells = [r.without, r.with].map(v => (v.toFixed(0) + ' ms').padStart(13)).join('') + (r.with / r.without).toFixed(2).padStart(8) +
      [r.cpuWithout, r.cpuWith].map(v => (v.toFixed(0) + ' ms').padStart(13)).join('') + (r.cpuWith / r.cpuWithout).toFixed(2).padStart(8)
    console.log(`${name.padEnd(36)}${cells}`)
    results.push({
      name: 'recovery',
      kind: name,
      records: RECORDS,
      without_index_ms: Math.round(r.without),
      with_index_ms: Math.round(r.with),
      ratio: Number((r.with / r.without).toFixed(3)),
      cpu_without_index_ms: Math.round(r.cpuWithout),
      cpu_with_index_ms: Math.round(r.cpuWith),
      cpu_ratio: Number((r.cpuWith / r.cpuWithout).toFixed(3)),
    })
  }

  // each sparse point is two small integers in JS arrays: 16 bytes
  const pointBytes = (scan.points * 16) / RECORDS
  const total = mem.bytesPerEntry + pointBytes
  console.log(`\nindex memory per retained entry (${mem.entries.toLocaleString('en-US')} entries of ${mem.instances.toLocaleString('en-US')} instances):`)
  console.log(`  per-instance offsets (heap measured: map, per-instance forms, offsets) ${mem.bytesPerEntry.toFixed(2)} B`)
  console.log(`  sparse position points (${scan.points.toLocaleString('en-US')} points × 16 B)                   ${pointBytes.toFixed(2)} B`)
  console.log(`  total                                                              ${total.toFixed(2)} B   (${HOT} alone: ${mem.hotBytesPerEntry.toFixed(2)} B of offsets per entry)`)
  console.log(`  offsets by entries per instance (1,000,000 entries): ${shapes.map(x => `${x.perInstance}: ${x.bytes.toFixed(1)} B`).join(', ')}`)
  for (const x of shapes) results.push({ name: 'index_memory_shape', entries_per_instance: x.perInstance, offsets_bytes_per_entry: Number(x.bytes.toFixed(2)) })
  results.push({
    name: 'index_memory',
    entries: mem.entries,
    instances: mem.instances,
    offsets_bytes_per_entry: Number(mem.bytesPerEntry.toFixed(2)),
    position_bytes_per_entry: Number(pointBytes.toFixed(2)),
    bytes_per_entry: Number(total.toFixed(2)),
    hot_offsets_bytes_per_entry: Number(mem.hotBytesPerEntry.toFixed(2)),
    exact_heap: typeof (globalThis as { gc?: unknown }).gc === 'function',
  })

  t0 = performance.now()
  const db = await openDatabase({
    storage: { ...DEFAULT_STORAGE, data_dir: dir, fsync_policy: { kind: 'never' } },
    compaction: { ...DEFAULT_COMPACTION, enabled: false },
  })
  const openMs = performance.now() - t0
  const head = db.head()
  const stats = db.stats().wal
  console.log(`\nopened the database in ${(openMs / 1000).toFixed(1)} s: head ${head}, ${stats.segment_count} segments`)

  const next = offsets(42, head)
  console.log('\nquery                                 p50 ms    p99 ms    max ms   cpu p50   cpu p99')
  for (const reverse of [false, true]) {
    const timing = await timed(SAMPLES, async () => {
      const from = next()
      const { result } = await db.dispatch('GET_HISTORY', { instance_id: HOT, from_offset: from, limit: 100, reverse })
      if (result.items.length !== 100 && (reverse ? from > 1000 : from < head - 1000)) throw new Error(`short page from ${from}: ${result.items.length}`)
    })
    console.log(timingRow(`GET_HISTORY limit 100${reverse ? ' reverse' : ''}`, timing))
    results.push({ name: 'get_history', reverse, limit: 100, samples: SAMPLES, ...timingFields(timing) })
  }
  const at = await timed(SAMPLES, async () => {
    const { result } = await db.dispatch('GET_INSTANCE', { instance_id: HOT, at_offset: next() })
    if (result.instance_id !== HOT) throw new Error('wrong instance')
  })
  console.log(timingRow('GET_INSTANCE at_offset', at))
  results.push({ name: 'at_offset', samples: SAMPLES, ...timingFields(at) })
  await db.close()
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
console.log(JSON.stringify({ records: RECORDS, hot_every: HOT_EVERY, others: OTHERS, results }))
