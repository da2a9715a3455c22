import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { RCP_POLICIES, rcpArgs, rcpShapes } from './rcp-shapes.js'
import { README, writeReadmeTable, type BenchResult } from './readme-table.js'
import { parseReport, type Report } from './report.js'
import { launchServer, removeDir, type RunningServer } from './server.js'

/**
 * `npm run bench`: the standard suite at a size that finishes in a few minutes on 2 cores.
 * Starts a server per fsync policy (`never`, `every_write`) on temp data dirs for the RCP
 * shapes, and restarts the `every_write` one for the restart-recovery figure; runs each
 * bench program as a child process, collects its figures into one table, writes
 * bench/results/latest.json and, when every suite succeeded, the performance table in
 * README.md. Sizes: BENCH_SCALE=0.5 halves them, 2 doubles them.
 */

interface Row {
  suite: string
  metric: string
  value: number
  unit: string
  p50_ms?: number
  p99_ms?: number
  /** the server process's CPU time per operation, where the program measured it */
  cpu_us_per_op?: number
}

type Result = Report['results'][number]

interface Suite {
  name: string
  args: string[]
  env?: Record<string, string>
  rows: Describe
}

const DIST = path.dirname(fileURLToPath(import.meta.url))
const RESULTS = path.resolve(DIST, '../../bench/results/latest.json')
const SCALE = Number(process.env.BENCH_SCALE ?? 1)
const sized = (n: number): number => Math.max(1, Math.round(n * SCALE))
const RCP_SHAPES = rcpShapes(SCALE)
const SIZES = {
  engine_instances: sized(500_000),
  recovery_records: sized(500_000),
  rcp_shapes: RCP_SHAPES,
  http_seconds_per_row: 3,
}
// each program takes well under a minute at scale 1; a hung one must not hold up the suite
const SUITE_TIMEOUT_MS = Math.max(1, SCALE) * 120_000

const round2 = (n: number): number => Math.round(n * 100) / 100
const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`

function field (r: Result, key: string): unknown {
  if (!(key in r)) throw new Error(`result ${JSON.stringify(r)} has no "${key}"`)
  return r[key]
}

function figure (r: Result, key: string): number {
  const value = field(r, key)
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`result ${JSON.stringify(r)}: "${key}" is not a number`)
  return value
}

/** A latency the program could not measure (nothing arrived) is null, and left blank in the table. */
function latency (r: Result, key: string): number | undefined {
  return field(r, key) === null ? undefined : figure(r, key)
}

const text = (r: Result, key: string): string => String(field(r, key))

/** The table rows for one result of a program's JSON line; a result it does not know gives none. */
type Describe = (r: Result, report: Report) => Row[]

const engineRows: Describe = r => {
  const row = (metric: string, value: number, unit: string): Row => ({ suite: 'engine', metric, value, unit })
  switch (r.name) {
    case 'apply_event':
      return [row(`apply-event decide+apply ${r.guard === true ? 'with' : 'without'} guard`, figure(r, 'ops_per_sec'), 'ops/s')]
    case 'list_instances': {
      const what = `LIST_INSTANCES ${text(r, 'filter')} filter, ${figure(r, 'limit')} rows, after`
      return [row(`${what}: p50`, figure(r, 'p50_ms'), 'ms'), row(`${what}: p99`, figure(r, 'p99_ms'), 'ms')]
    }
    case 'heap':
      return [
        row('instances (live)', figure(r, 'instances_live'), 'instances'),
        row('heap bytes per instance (total)', figure(r, 'bytes_per_instance'), 'bytes'),
        row('heap bytes per ctx alone', figure(r, 'bytes_per_ctx'), 'bytes'),
        row('heap bytes per instance beyond its ctx', figure(r, 'bytes_per_instance_beyond_ctx'), 'bytes'),
      ]
    default:
      return []
  }
}

const protocolRows: Describe = (r, report) => {
  const size = (bytes: number): string => bytes >= 2 ** 20 ? `${Math.round(bytes / 2 ** 20)} MiB` : `${bytes}-byte`
  switch (r.name) {
    case 'validate_params':
      return [{ suite: 'protocol', metric: `validateParams ${text(r, 'op')}, ${text(r, 'payload')} payload`, value: figure(r, 'calls_per_sec'), unit: 'calls/s' }]
    case 'validate_envelope':
      return [{ suite: 'protocol', metric: 'validateEnvelope', value: figure(r, 'calls_per_sec'), unit: 'calls/s' }]
    case 'decode':
      return [{
        suite: 'protocol',
        metric: `decode ${size(figure(r, 'message_bytes'))} ${r.format === 'jsonl' ? 'JSONL lines' : 'binary frames'}, ${figure(report, 'chunk_bytes') / 1024} KiB chunks`,
        value: figure(r, 'mb_per_sec'),
        unit: 'MB/s',
      }]
    default:
      return []
  }
}

const walRows: Describe = r => {
  switch (r.name) {
    case 'append':
      return [{
        suite: 'wal',
        metric: `durable appends, ${text(r, 'policy')}, ${plural(figure(r, 'writers'), 'writer')}`,
        value: figure(r, 'appends_per_sec'),
        unit: 'appends/s',
        p50_ms: figure(r, 'p50_ms'),
        p99_ms: figure(r, 'p99_ms'),
      }]
    case 'recovery_scan':
      return [
        { suite: 'recovery', metric: `WAL scan only, ${figure(r, 'records')} records`, value: figure(r, 'records_per_sec'), unit: 'records/s' },
        { suite: 'recovery', metric: 'WAL scan only, per CPU-second', value: figure(r, 'records_per_cpu_sec'), unit: 'records/s' },
      ]
    case 'recovery_engine_replay':
      return [
        { suite: 'recovery', metric: `WAL + engine replay, ${figure(r, 'records')} records`, value: figure(r, 'records_per_sec'), unit: 'records/s' },
        { suite: 'recovery', metric: 'WAL + engine replay, per CPU-second', value: figure(r, 'records_per_cpu_sec'), unit: 'records/s' },
      ]
    case 'recovery_rss':
      return [{ suite: 'recovery', metric: `RSS after recovering ${figure(r, 'instances')} instances from ${figure(r, 'records')} records`, value: figure(r, 'rss_mb'), unit: 'MiB' }]
    default:
      return []
  }
}

const rcpRows: Describe = (r, report) => {
  if (figure(r, 'errors') > 0) throw new Error(`${text(r, 'op')}: ${figure(r, 'errors')} errors`)
  return [{
    suite: 'rcp',
    metric: `${text(r, 'op')}, ${text(report, 'fsync')}, ${plural(figure(report, 'connections'), 'connection')} × ${figure(report, 'depth')} in flight`,
    value: figure(r, 'ops_per_sec'),
    unit: 'ops/s',
    p50_ms: figure(r, 'p50_ms'),
    p99_ms: figure(r, 'p99_ms'),
    cpu_us_per_op: figure(r, 'server_cpu_us_per_op'),
  }]
}

const httpRows: Describe = r => {
  switch (r.name) {
    case 'apply_event':
      return [{
        suite: 'http',
        metric: `${r.face === 'rest' ? 'REST APPLY_EVENT' : 'same load over RCP'}, ${plural(figure(r, 'connections'), 'connection')}`,
        value: figure(r, 'ops_per_sec'),
        unit: 'ops/s',
        p50_ms: latency(r, 'p50_ms'),
        p99_ms: latency(r, 'p99_ms'),
        cpu_us_per_op: figure(r, 'server_cpu_us_per_op'),
      }]
    case 'fanout':
      return [{
        suite: 'fan-out',
        metric: `${r.face === 'sse' ? 'SSE' : 'WebSocket'} write→delivery, ${plural(figure(r, 'subscribers'), 'subscriber')}`,
        value: Number((figure(r, 'deliveries') / figure(r, 'expected_deliveries') * 100).toFixed(2)),
        unit: '% delivered',
        p50_ms: latency(r, 'delivery_p50_ms'),
        p99_ms: latency(r, 'delivery_p99_ms'),
      }]
    default:
      return []
  }
}

/**
 * Runs one bench program in a process group of its own, so that on timeout or interrupt the
 * server it may have started goes down with it.
 */
function runChild (args: string[], env: Record<string, string>, interrupt: AbortSignal): Promise<{ code: number | null, stdout: string, stderr: string, timedOut: boolean }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let stdout = ''
  let stderr = ''
  let timedOut = false
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const killGroup = (): void => {
    try { process.kill(-(child.pid as number), 'SIGKILL') } catch {} // the group is already gone
  }
  interrupt.addEventListener('abort', killGroup)
  const timer = setTimeout(() => { timedOut = true; killGroup() }, SUITE_TIMEOUT_MS)
  return new Promise(resolve => child.once('close', code => {
    clearTimeout(timer)
    interrupt.removeEventListener('abort', killGroup)
    resolve({ code, stdout, stderr, timedOut })
  }))
}

/** Restarts the server on the data the RCP load left behind and reads its recovery report. */
async function restartRecovery (server: RunningServer): Promise<Report> {
  await server.stop()
  const started = performance.now()
  const again = await launchServer({ dataDir: server.dataDir, env: { RSTMDB_HTTP_ENABLED: 'false', RSTMDB_COMPACT_ENABLED: 'false' }, timeoutMs: 120_000 })
  const ms = performance.now() - started
  await again.stop()
  const report = again.logs.find(l => l.message === 'storage recovered') as { records_replayed: number, duration_ms: number } | undefined
  if (report === undefined) throw new Error('no "storage recovered" log line')
  return { results: [{ name: 'restart', records_replayed: report.records_replayed, ready_ms: Math.round(ms), storage_recovery_ms: report.duration_ms }] }
}

const restartRows: Describe = r => [
  { suite: 'recovery', metric: `server restart to ready, ${figure(r, 'records_replayed')} records replayed`, value: figure(r, 'ready_ms'), unit: 'ms' },
  { suite: 'recovery', metric: 'storage recovery inside that restart', value: figure(r, 'storage_recovery_ms'), unit: 'ms' },
]

function table (rows: Row[]): string {
  const cells = rows.map(r => [r.suite, r.metric, r.value.toLocaleString('en-US', { maximumFractionDigits: 3 }), r.unit, r.p50_ms?.toFixed(2) ?? '', r.p99_ms?.toFixed(2) ?? '', r.cpu_us_per_op?.toString() ?? ''])
  const head = ['suite', 'metric', 'value', 'unit', 'p50 ms', 'p99 ms', 'CPU µs/op']
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map(c => c[i].length)))
  const fmt = (c: string[]): string => c.map((x, i) => (i === 2 || i >= 4 ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join(' | ')
  return [fmt(head), widths.map(w => '-'.repeat(w)).join('-|-'), ...cells.map(fmt)].join('\n')
}

async function main (): Promise<number> {
  const started = Date.now()
  const load = { start: os.loadavg(), end: [] as number[] }
  // compaction off: the restart then replays the whole WAL the RCP load wrote to the every_write server
  const servers = await Promise.all(RCP_POLICIES.map(async policy => await launchServer({ env: { RSTMDB_HTTP_ENABLED: 'false', RSTMDB_FSYNC_POLICY: policy, RSTMDB_COMPACT_ENABLED: 'false' } })))
  const server = servers[RCP_POLICIES.indexOf('every_write')]
  const rcpSuites: Suite[] = RCP_POLICIES.flatMap((policy, i) => RCP_SHAPES.map(shape => ({
    name: `rcp ${policy} ${shape.connections}×${shape.depth}`,
    args: rcpArgs(servers[i], policy, shape),
    rows: rcpRows,
  })))
  const suites: Suite[] = [
    { name: 'engine', args: ['--expose-gc', path.join(DIST, 'engine.js')], env: { BENCH_INSTANCES: String(SIZES.engine_instances) }, rows: engineRows },
    { name: 'protocol', args: [path.join(DIST, 'protocol.js')], rows: protocolRows },
    { name: 'wal', args: [path.join(DIST, 'wal.js')], env: { RECOVERY_RECORDS: String(SIZES.recovery_records) }, rows: walRows },
    ...rcpSuites,
    { name: 'http', args: [path.join(DIST, 'http.js'), String(SIZES.http_seconds_per_row)], rows: httpRows },
  ]
  const rows: Row[] = []
  const failures: Array<{ suite: string, error: string }> = []
  const timings: Record<string, number> = {}
  const reports: Record<string, Report> = {}
  // Ctrl-C reaches only this process's group: end the running program's group too, and keep
  // the previous results file rather than overwrite it with a partial run
  const interrupt = new AbortController()
  const onInterrupt = (): void => interrupt.abort()
  process.once('SIGINT', onInterrupt)
  // the programs' temp dirs go here, so those of a program stopped midway are removed too
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'rstmdb-bench-run-'))
  for (const suite of suites) {
    process.stderr.write(`bench: ${suite.name}…\n`)
    const t0 = performance.now()
    const out = await runChild(suite.args, { ...suite.env, TMPDIR: scratch }, interrupt.signal)
    if (interrupt.signal.aborted) break
    timings[suite.name] = Math.round((performance.now() - t0) / 100) / 10
    try {
      if (out.timedOut) throw new Error(`no result within ${SUITE_TIMEOUT_MS / 1000} s, stopped`)
      if (out.code !== 0) throw new Error(`exit ${String(out.code)}: ${out.stderr.trim().split('\n').slice(-3).join(' / ')}`)
      const report = parseReport(out.stdout)
      const parsed = report.results.flatMap(r => suite.rows(r, report))
      if (parsed.length === 0) throw new Error('its JSON line holds no results')
      reports[suite.name] = report
      rows.push(...parsed)
    } catch (err) {
      failures.push({ suite: suite.name, error: (err as Error).message })
    }
  }
  process.off('SIGINT', onInterrupt)
  removeDir(scratch)
  const never = servers[RCP_POLICIES.indexOf('never')]
  await never.stop()
  removeDir(never.dataDir)
  if (interrupt.signal.aborted) {
    await server.stop()
    removeDir(server.dataDir)
    process.stderr.write(`bench: interrupted; ${path.relative(process.cwd(), RESULTS)} left as it was\n`)
    return 130
  }
  process.stderr.write('bench: restart recovery…\n')
  try {
    const report = await restartRecovery(server)
    reports.restart = report
    rows.push(...report.results.flatMap(r => restartRows(r, report)))
  } catch (err) {
    failures.push({ suite: 'restart recovery', error: (err as Error).message })
  } finally {
    await server.stop()
    removeDir(server.dataDir)
  }

  load.end = os.loadavg()
  const cpus = os.cpus()
  const result: BenchResult = {
    date: new Date().toISOString(),
    duration_sec: Math.round((Date.now() - started) / 1000),
    fsync_policy: 'every_write (HTTP suite, restart recovery); RCP rows and the WAL suite name theirs',
    load_average: { start: load.start.map(round2), end: load.end.map(round2) },
    machine: { cpus: cpus.length, cpu_model: cpus[0]?.model ?? 'unknown', memory_gb: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version },
    sizes: SIZES,
    suite_seconds: timings,
    rows,
    failures,
    reports,
  }
  mkdirSync(path.dirname(RESULTS), { recursive: true })
  writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`rstmdb bench, ${result.date}, ${result.machine.cpus} × ${result.machine.cpu_model}, node ${process.version}, ${result.duration_sec} s`)
  console.log(table(rows))
  for (const f of failures) console.log(`FAILED ${f.suite}: ${f.error}`)
  console.log(`written to ${path.relative(process.cwd(), RESULTS)}`)
  // a partial run would leave holes in the README's table: keep the last complete one
  if (failures.length === 0) {
    writeReadmeTable(result)
    console.log(`performance table written to ${path.relative(process.cwd(), README)}`)
  } else {
    console.log(`${path.relative(process.cwd(), README)} left as it was`)
  }
  return failures.length === 0 ? 0 : 1
}

main().then(code => process.exit(code), err => {
  console.error(err)
  process.exit(1)
})
