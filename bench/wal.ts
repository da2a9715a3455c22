/**
 * WAL benchmark: durable appends/s and ack latency per fsync policy and writer
 * count (~300-byte records), then recovery speed over 1,000,000 records.
 * Run: npx tsc -p tsconfig.json && node dist/bench/wal.js
 * Prints a table, then the figures as one JSON line (the last line).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { WalEntry } from '../protocol/entries.js'
import { DEFAULT_COMPACTION, DEFAULT_STORAGE } from '../src/config/schema.js'
import { openDatabase } from '../src/ops/index.js'
import { openStorage } from '../storage/index.js'
import type { FsyncPolicy } from '../storage/index.js'

const RUN_MS = 1500
const RECOVERY_RECORDS = Number(process.env.RECOVERY_RECORDS ?? 1_000_000)

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rstmdb-bench-'))
const pad = 'x'.repeat(170)
const record = (i: number): WalEntry => ({
  type: 'apply_event', instance_id: `inst-${i % 1000}`, machine: 'order', version: 1, event: 'NOTE', from_state: 'pending', to_state: 'pending', payload: null, ctx: { n: i, pad }, ts: 1736937000123,
})
const noTarget = { restore () {}, apply () {} }

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

async function appendRun (policy: FsyncPolicy, writers: number): Promise<{ rate: number, p50: number, p99: number, fsyncs: number }> {
  const dir = tmp()
  const storage = await openStorage({ dataDir: dir, segmentSizeBytes: 64 * 1024 * 1024, fsyncPolicy: policy, skipCorruptRecords: false, target: noTarget })
  const latencies: number[] = []
  const stopAt = performance.now() + RUN_MS
  let n = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: writers }, async () => {
    while (performance.now() < stopAt) {
      const t0 = performance.now()
      const [seq] = storage.append([record(n++)], false)
      await storage.waitFor(seq)
      latencies.push(performance.now() - t0)
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  const fsyncs = storage.stats().io_stats.fsyncs
  await storage.close()
  fs.rmSync(dir, { recursive: true, force: true })
  latencies.sort((a, b) => a - b)
  return { rate: latencies.length / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), fsyncs }
}

async function recoveryRun (): Promise<Record<string, number | string>> {
  const dir = tmp()
  const writer = await openStorage({ dataDir: dir, segmentSizeBytes: 64 * 1024 * 1024, fsyncPolicy: { kind: 'never' }, skipCorruptRecords: false, target: noTarget })
  for (let i = 0; i < RECOVERY_RECORDS; i += 1000) {
    const batch: WalEntry[] = []
    for (let j = i; j < i + 1000 && j < RECOVERY_RECORDS; j++) batch.push(record(j))
    const seqs = writer.append(batch, false)
    if (i % 50_000 === 0) await writer.waitFor(seqs[seqs.length - 1])
  }
  await writer.close()
  const bytes = writer.stats().total_size_bytes

  let applied = 0
  const t0 = performance.now()
  const storage = await openStorage({ dataDir: dir, segmentSizeBytes: 64 * 1024 * 1024, fsyncPolicy: { kind: 'never' }, skipCorruptRecords: false, target: { restore () {}, apply () { applied++ } } })
  const openMs = performance.now() - t0
  await storage.close()
  const rate = Math.round(applied / (openMs / 1000))
  console.log(`\nrecovery (storage scan + decode + CRC + JSON.parse): ${applied} records, ${(bytes / 1048576).toFixed(0)} MiB in ${openMs.toFixed(0)} ms = ${rate.toLocaleString('en-US')} records/s`)
  fs.rmSync(dir, { recursive: true, force: true })
  return { name: 'recovery_scan', records: applied, bytes, ms: Math.round(openMs), records_per_sec: rate }
}

async function engineRecoveryRun (): Promise<Record<string, number | string>> {
  const dir = tmp()
  const options = {
    storage: { ...DEFAULT_STORAGE, data_dir: dir, fsync_policy: { kind: 'never' } as FsyncPolicy },
    compaction: { ...DEFAULT_COMPACTION, enabled: false },
  }
  const db = await openDatabase(options)
  await db.dispatch('PUT_MACHINE', {
    machine: 'order', version: 1, definition: { states: ['pending', 'paid'], initial: 'pending', transitions: [{ from: 'pending', event: 'NOTE', to: 'pending' }] },
  })
  const instances = 10_000
  for (let i = 0; i < instances; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, j) => db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `inst-${i + j}` })))
  }
  const events = RECOVERY_RECORDS - instances
  for (let i = 0; i < events; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, (_, j) => db.dispatch('APPLY_EVENT', { instance_id: `inst-${(i + j) % instances}`, event: 'NOTE', payload: { n: i + j, pad } })))
  }
  await db.close()
  const t0 = performance.now()
  const again = await openDatabase(options)
  const ms = performance.now() - t0
  const replayed = again.report.records_replayed
  await again.close()
  const rate = Math.round(replayed / (ms / 1000))
  console.log(`open with engine replay: ${replayed} records in ${ms.toFixed(0)} ms = ${rate.toLocaleString('en-US')} records/s`)
  fs.rmSync(dir, { recursive: true, force: true })
  return { name: 'recovery_engine_replay', records: replayed, ms: Math.round(ms), records_per_sec: rate }
}

const policies: FsyncPolicy[] = [{ kind: 'every_write' }, { kind: 'every_n', n: 100 }, { kind: 'every_ms', ms: 10 }, { kind: 'never' }]
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
console.log(JSON.stringify({ run_ms: RUN_MS, recovery_records: RECOVERY_RECORDS, results }))
