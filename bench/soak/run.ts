import type { Address } from '../../protocol/address.js'
import { checkFinalState, checkRefusedBatches, checkWal, checkWatcher, type WatcherSummary } from './checks.js'
import { httpFace, rcpFace, type Face } from './faces.js'
import { count, createLedger, violation } from './ledger.js'
import { residentBytes } from './memory.js'
import { createRng, type Rng } from './rng.js'
import { tailWal } from './wal-tail.js'
import { matches, startWatcher, type WatchSpec, type Watcher } from './watchers.js'
import { create, DEFINITION, readStep, writeStep, type Workload } from './workload.js'

export interface SoakOptions {
  durationSec: number
  seed: number
  rcp: Address
  /** null: RCP only (no REST writers, no WebSocket watchers) */
  http: Address | null
  token: string | null
  /** the server's pid, for the memory check; null skips it */
  pid: number | null
  /** writers per face */
  writers: number
  compactEverySec: number
  /** how far above its baseline the server's RSS may stay once the load is over */
  rssSlackMb: number
  log: (line: string) => void
}

export interface SoakReport {
  ok: boolean
  seed: number
  duration_sec: number
  offsets: { first: number, last: number }
  counts: Record<string, number>
  watchers: WatcherSummary[]
  wal_tail: { records: number, missed_ranges: number }
  memory: { baseline_mb: number, peak_mb: number, settled_mb: number, limit_mb: number } | null
  violation_count: number
  violations: string[]
}

/** A self-started server: 1 MiB WAL segments, eager auto-compaction and no history retention, so segments really go under the watchers. */
export const SOAK_SERVER_ENV: Record<string, string> = {
  RSTMDB_HTTP_ENABLED: 'true',
  RSTMDB_LOG_LEVEL: 'info',
  RSTMDB_WAL_SEGMENT_SIZE_MB: '1',
  RSTMDB_HISTORY_RETENTION_SECS: '0',
  RSTMDB_COMPACT_EVENTS: '2000',
  RSTMDB_COMPACT_INTERVAL: '2',
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const mb = (bytes: number): number => Math.round(bytes / 1048576)

function watchSpecs (machines: string[], pool: string[], withWs: boolean): WatchSpec[] {
  const [a, b] = machines
  const specs: WatchSpec[] = [
    { name: 'rcp-machine-a', face: 'rcp', machines: [a], include_ctx: true, disconnects: true },
    { name: 'rcp-next-to-held', face: 'rcp', machines, events: ['NEXT'], to_states: ['held'], include_ctx: false, disconnects: true },
    { name: 'rcp-instance', face: 'rcp', instance_id: pool[0], include_ctx: true, disconnects: true },
    { name: 'rcp-both-steady', face: 'rcp', machines, include_ctx: false, disconnects: false },
  ]
  if (!withWs) return specs
  return [
    ...specs,
    { name: 'ws-machine-b', face: 'ws', machines: [b], include_ctx: true, disconnects: true },
    { name: 'ws-from-new', face: 'ws', machines, from_states: ['new'], include_ctx: false, disconnects: true },
    { name: 'ws-instance', face: 'ws', instance_id: pool[1], include_ctx: true, disconnects: true },
    { name: 'ws-both-steady', face: 'ws', machines, include_ctx: true, disconnects: false },
  ]
}

/** Runs `until` returns true, one step at a time, counting failures of the transport as violations. */
async function loop (w: Workload, until: () => boolean, step: () => Promise<void>, what: string): Promise<void> {
  while (!until()) {
    try {
      await step()
    } catch (err) {
      violation(w.ledger, `${what}: ${(err as Error).message}`)
      return
    }
  }
}

export async function runSoak (o: SoakOptions): Promise<SoakReport> {
  const ledger = createLedger()
  const run = `soak-${o.seed.toString(36)}-${Date.now().toString(36)}`
  const machines = [`${run}-a`, `${run}-b`]
  let ids = 0
  let keys = 0
  const w: Workload = { ledger, machines, pool: [], newId: () => `${run}-i${++ids}`, newKey: () => `${run}-k${++keys}` }
  const rng = createRng(o.seed)
  const fork = (): Rng => createRng(Math.floor(rng() * 2 ** 32))

  const setup = await rcpFace(o.rcp, o.token)
  for (const machine of machines) {
    const put = await setup.call('PUT_MACHINE', { machine, version: 1, definition: DEFINITION })
    if (!put.ok) throw new Error(`PUT_MACHINE: ${put.code}`)
  }
  const info = await setup.call('INFO')
  if (!info.ok) throw new Error(`INFO: ${info.code}`)
  const first = Number(info.result.wal_offset) + 1
  for (let i = 0; i < 20; i++) await create(w, setup, fork())

  const faces: Face[] = []
  for (let i = 0; i < o.writers; i++) faces.push(await rcpFace(o.rcp, o.token))
  if (o.http !== null) for (let i = 0; i < o.writers; i++) faces.push(httpFace(o.http, o.token))
  const readers: Face[] = [await rcpFace(o.rcp, o.token), ...(o.http === null ? [] : [httpFace(o.http, o.token)])]
  const tailFace = await rcpFace(o.rcp, o.token)
  const tail = tailWal(tailFace, new Set(machines), first)

  const rss = (): number | null => o.pid === null ? null : residentBytes(o.pid)
  const baseline = rss()
  let peak = baseline ?? 0

  const target = { rcp: o.rcp, http: o.http, token: o.token }
  const watchers: Watcher[] = watchSpecs(machines, w.pool, o.http !== null).map(spec => startWatcher(target, spec, first, fork()))
  o.log(`soak ${run}: ${o.durationSec}s, seed ${o.seed}, ${faces.length} writers, ${readers.length} readers, ${watchers.length} watchers`)

  const deadline = Date.now() + o.durationSec * 1000
  const over = (): boolean => Date.now() >= deadline
  let compactions = 0
  const compactor = loop(w, over, async () => {
    await sleep(o.compactEverySec * 1000)
    if (over()) return
    const face = compactions % 2 === 0 ? setup : (readers[1] ?? setup)
    const reply = await face.call('COMPACT', { force_snapshot: compactions % 3 === 0 })
    compactions++
    if (!reply.ok) violation(ledger, `${face.name} COMPACT: ${reply.code}`)
    else {
      count(ledger, 'compactions')
      count(ledger, 'segments deleted by COMPACT', reply.result.segments_deleted)
    }
  }, 'compactor')
  const sampler = loop(w, over, async () => {
    await sleep(500)
    peak = Math.max(peak, rss() ?? 0)
  }, 'memory sampler')
  await Promise.all([
    ...faces.map(face => { const r = fork(); return loop(w, over, async () => await writeStep(w, face, r), `${face.name} writer`) }),
    ...readers.map(face => { const r = fork(); return loop(w, over, async () => await readStep(w, face, r), `${face.name} reader`) }),
    compactor,
    sampler,
  ])

  // a loop, not Math.max(...spread): a long run acknowledges more writes than a call may take arguments
  let last = first - 1
  for (const offset of ledger.applies.keys()) last = Math.max(last, offset)
  for (const c of ledger.creates.values()) last = Math.max(last, c.offset)
  o.log(`load over at offset ${last}; waiting for watchers and the WAL tail`)
  await Promise.all(watchers.map(async watcher => {
    let wanted = 0
    for (const a of ledger.applies.values()) if (a.offset >= first && matches(watcher.spec, a)) wanted = Math.max(wanted, a.offset)
    await watcher.waitPast(wanted, 20_000)
  }))
  await Promise.all(watchers.map(async watcher => await watcher.stop()))
  await tail.finish(last)

  await checkFinalState(ledger, setup)
  await checkRefusedBatches(ledger, setup, tail)
  checkWal(ledger, tail)
  const summaries = watchers.map(watcher => checkWatcher(ledger, watcher, first))
  for (const face of [...faces, ...readers, tailFace, setup]) face.close()

  let memory: SoakReport['memory'] = null
  if (baseline !== null) {
    const limit = baseline + o.rssSlackMb * 1048576
    let settled = rss() ?? 0
    for (let i = 0; i < 40 && settled > limit; i++) {
      await sleep(250)
      settled = rss() ?? 0
    }
    memory = { baseline_mb: mb(baseline), peak_mb: mb(peak), settled_mb: mb(settled), limit_mb: mb(limit) }
    if (settled > limit) violation(ledger, `server RSS ${mb(settled)} MiB after the load, above baseline ${mb(baseline)} MiB + ${o.rssSlackMb} MiB`)
  }

  return {
    ok: ledger.violationCount === 0,
    seed: o.seed,
    duration_sec: o.durationSec,
    offsets: { first, last },
    counts: Object.fromEntries(ledger.counts),
    watchers: summaries,
    wal_tail: { records: tail.records.size, missed_ranges: tail.missed.length },
    memory,
    violation_count: ledger.violationCount,
    violations: ledger.violations,
  }
}
