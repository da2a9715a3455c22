/**
 * WAL benchmark: durable appends/s and ack latency per fsync policy and writer
 * count (~300-byte records), then recovery speed over 1,000,000 records, then the
 * RSS of a fresh process that recovered 10,000 instances from 100,000 records.
 * Run: npx tsc -p tsconfig.json && node dist/bench/wal.js
 * Prints a table, then the figures as one JSON line (the last line).
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { WalEntry } from '../protocol/entries.js'
import { DEFAULT_COMPACTION, DEFAULT_STORAGE } from '../src/config/schema.js'
import { openDatabase } from '../src/ops/index.js'
import { openStorage } from '../storage/index.js'
import type { FsyncPolicy } from '../storage/index.js'
import { appendLoad, benchRecord } from './append-load.js'

const RUN_MS = 1500
const RECOVERY_RECORDS = Number(process.env.RECOVERY_RECORDS ?? 1_000_000)
const RSS_INSTANCES = 10_000
const RSS_RECORDS = 100_000

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rstmdb-bench-'))
const pad = 'x'.repeat(170)
const noTarget = { restore () {}, apply () {} }

async function appendRun (policy: FsyncPolicy, writers: number): Promise<{ rate: number, p50: number, p99: number, fsyncs: number }> {
  const dir = tmp()
  const storage = await openStorage({ dataDir: dir, segmentSizeBytes: 64 * 1024 * 1024, fsyncPolicy: policy, skipCorruptRecords: false, target: noTarget })
  const load = await appendLoad(storage, writers, RUN_MS)
  const fsyncs = storage.stats().io_stats.fsyncs
  await storage.close()
  fs.rmSync(dir, { recursive: true, force: true })
  return { ...load, fsyncs }
}

/**
 * CPU time of this process since `since`, in ms: beside wall time, because on a shared
 * machine other work stretches the wall time while the CPU a recovery needs stays put.
 */
function cpuMs (since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since)
  return (user + system) / 1000
}

async function recoveryRun (): Promise<Record<string, number | string>> {
  const dir = tmp()
  const writer = await openStorage({ dataDir: dir, segmentSizeBytes: 64 * 1024 * 1024, fsyncPolicy: { kind: 'never' }, skipCorruptRecords: false, target: noTarget })
  for (let i = 0; i < RECOVERY_RECORDS; i += 1000) {
    const batch: WalEntry[] = []
    for (let j = i; j < i + 1000 && j < RECOVERY_RECORDS; j++) batch.push(benchRecord(j))
    const seqs = writer.append(batch, false)
    if (i % 50_000 === 0) await writer.waitFor(seqs[seqs.length - 1])
  }
  await writer.close()
  const bytes = writer.stats().total_size_bytes

  let applied = 0
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const storage = await openStorage({ dataDir: dir, segmentSizeBytes: 64 * 1024 * 1024, fsyncPolicy: { kind: 'never' }, skipCorruptRecords: false, target: { restore () {}, apply () { applied++ } } })
  const cpu = cpuMs(c0)
  const openMs = performance.now() - t0
  await storage.close()
  const rate = Math.round(applied / (openMs / 1000))
  console.log(`\nrecovery (storage scan + decode + CRC + JSON.parse): ${applied} records, ${(bytes / 1048576).toFixed(0)} MiB in ${openMs.toFixed(0)} ms = ${rate.toLocaleString('en-US')} records/s`)
  fs.rmSync(dir, { recursive: true, force: true })
  return { name: 'recovery_scan', records: applied, bytes, ms: Math.round(openMs), records_per_sec: rate, cpu_ms: Math.round(cpu), records_per_cpu_sec: Math.round(applied / (cpu / 1000)) }
}

function databaseOptions (dir: string): Parameters<typeof openDatabase>[0] {
  return {
    storage: { ...DEFAULT_STORAGE, data_dir: dir, fsync_policy: { kind: 'never' } as FsyncPolicy },
    compaction: { ...DEFAULT_COMPACTION, enabled: false },
  }
}

/** A data dir written through the dispatcher: `instances` creates, then events on them up to `records` in all. */
async function buildDatabase (records: number, instances: number): Promise<string> {
  const dir = tmp()
  const db = await openDatabase(databaseOptions(dir))
  await db.dispatch('PUT_MACHINE', {
    machine: 'order', version: 1, definition: { states: ['pending', 'paid'], initial: 'pending', transitions: [{ from: 'pending', event: 'NOTE', to: 'pending' }] },
  })
  for (let i = 0; i < instances; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, instances - i) }, (_, j) => db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `inst-${i + j}` })))
  }
  const events = records - instances
  for (let i = 0; i < events; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, events - i) }, (_, j) => db.dispatch('APPLY_EVENT', { instance_id: `inst-${(i + j) % instances}`, event: 'NOTE', payload: { n: i + j, pad } })))
  }
  await db.close()
  return dir
}

async function engineRecoveryRun (): Promise<Record<string, number | string>> {
  const dir = await buildDatabase(RECOVERY_RECORDS, 10_000)
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const again = await openDatabase(databaseOptions(dir))
  const cpu = cpuMs(c0)
  const ms = performance.now() - t0
  const replayed = again.report.records_replayed
  await again.close()
  const rate = Math.round(replayed / (ms / 1000))
  console.log(`open with engine replay: ${replayed} records in ${ms.toFixed(0)} ms = ${rate.toLocaleString('en-US')} records/s`)
  fs.rmSync(dir, { recursive: true, force: true })
  return { name: 'recovery_engine_replay', records: replayed, ms: Math.round(ms), records_per_sec: rate, cpu_ms: Math.round(cpu), records_per_cpu_sec: Math.round(replayed / (cpu / 1000)) }
}

/** /proc/self/status figures in MiB: VmRSS now and VmHWM, the peak. */
function rssMiB (): { rss: number, peak: number } {
  const status = fs.readFileSync('/proc/self/status', 'utf8')
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: Math.round(kib('VmRSS') / 1024), peak: Math.round(kib('VmHWM') / 1024) }
}

/** Recovers in a fresh process, so the figure is what a server holds after startup, not this process's leftovers. */
async function recoveryRssRun (): Promise<Record<string, number | string>> {
  const dir = await buildDatabase(RSS_RECORDS, RSS_INSTANCES)
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--recover', dir], { encoding: 'utf8' })
  fs.rmSync(dir, { recursive: true, force: true })
  const { records, instances, rss, peak } = JSON.parse(out) as Record<string, number>
  console.log(`RSS after recovering ${instances.toLocaleString('en-US')} instances from ${records.toLocaleString('en-US')} records: ${rss} MiB (peak ${peak} MiB)`)
  return { name: 'recovery_rss', instances, records, rss_mb: rss, peak_rss_mb: peak }
}

async function recoverAndReport (dir: string): Promise<void> {
  const db = await openDatabase(databaseOptions(dir))
  const { rss, peak } = rssMiB()
  process.stdout.write(JSON.stringify({ records: db.report.records_replayed, instances: db.report.live_instances, rss, peak }))
  await db.close()
}

if (process.argv[2] === '--recover') {
  await recoverAndReport(process.argv[3])
  process.exit(0)
}

const policies: FsyncPolicy[] = process.env.WAL_APPENDS === '0' ? [] : [{ kind: 'every_write' }, { kind: 'every_n', n: 100 }, { kind: 'every_ms', ms: 10 }, { kind: 'never' }]
const results: Array<Record<string, number | string>> = []
console.log('policy        writers  appends/s   p50 ms   p99 ms   fsyncs')
for (const policy of policies) {
  for (const writers of [1, 16, 64]) {
    const r = await appendRun(policy, writers)
    const name = policy.kind === 'every_n' ? `every_n:${policy.n}` : policy.kind === 'every_ms' ? `every_ms:${policy.ms}` : policy.kind
    console.log(`${name.padEnd(13)} ${String(writers).padStart(7)} ${Math.round(r.rate).toLocaleString('en-US').padStart(10)} ${r.p50.toFixed(3).padStart(8)} ${r.p99.toFixed(3).padStart(8)} ${String(r.fsyncs).padStart(8)}`)
    results.push({
      name: 'append', policy: name, writers, appends_per_sec: Math.round(r.rate), p50_ms: Number(r.p50.toFixed(3)), p99_ms: Number(r.p99.toFixed(3)), fsyncs: r.fsyncs,
    })
  }
}
results.push(await recoveryRun())
if (process.env.ENGINE_RECOVERY !== '0') results.push(await engineRecoveryRun())
results.push(await recoveryRssRun())
console.log(JSON.stringify({ run_ms: RUN_MS, recovery_records: RECOVERY_RECORDS, results }))
