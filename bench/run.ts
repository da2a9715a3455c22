import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { removeDir, startServer, type RunningServer } from '../test/support/server.js'

/**
 * `npm run bench`: the standard suite at a size that finishes in a few minutes on 2 cores.
 * Starts a server on a temp data dir for the RCP load and the restart-recovery figure, runs
 * each bench program as a child process, collects its figures into one table, and writes
 * bench/results/latest.json. Sizes: BENCH_SCALE=0.5 halves them, 2 doubles them.
 */

interface Row {
  suite: string
  metric: string
  value: number
  unit: string
  p50_ms?: number
  p99_ms?: number
}

interface Suite {
  name: string
  args: string[]
  env?: Record<string, string>
  parse: (stdout: string) => Row[]
}

const DIST = path.dirname(fileURLToPath(import.meta.url))
const RESULTS = path.resolve(DIST, '../../bench/results/latest.json')
const SCALE = Number(process.env.BENCH_SCALE ?? 1)
const sized = (n: number): number => Math.max(1, Math.round(n * SCALE))
const SIZES = {
  engine_instances: sized(500_000),
  recovery_records: sized(500_000),
  rcp_instances: sized(5_000),
  rcp_events_per_instance: 10,
  rcp_connections: 32,
  http_seconds_per_row: 3,
}

const num = (text: string): number => Number(text.replace(/,/g, ''))

function lines (stdout: string, pattern: RegExp): RegExpExecArray[] {
  return stdout.split('\n').map(l => pattern.exec(l)).filter((m): m is RegExpExecArray => m !== null)
}

/** bench/engine.ts prints `metric | value unit` rows. */
function parseEngine (stdout: string): Row[] {
  return lines(stdout, /^(.+?)\s*\|\s*([\d.,]+)\s*(.*)$/).map(([, metric, value, unit]) => ({
    suite: 'engine', metric, value: num(value), unit: unit === '' ? (metric.startsWith('heap') ? 'bytes' : 'count') : unit,
  }))
}

/** bench/protocol.ts prints `name  value unit` rows. */
function parseProtocol (stdout: string): Row[] {
  return lines(stdout, /^(.+?)\s{2,}(\d+)\s+(\S+)$/).map(([, metric, value, unit]) => ({ suite: 'protocol', metric, value: num(value), unit }))
}

/** bench/wal.ts: the policy × writers table, then the two recovery lines. */
function parseWal (stdout: string): Row[] {
  const appends = lines(stdout, /^(\S+)\s+(\d+)\s+([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)$/).map(([, policy, writers, rate, p50, p99]) => ({
    suite: 'wal', metric: `durable appends, ${policy}, ${writers} writers`, value: num(rate), unit: 'appends/s', p50_ms: Number(p50), p99_ms: Number(p99),
  }))
  const recovery = lines(stdout, /^(recovery \(storage scan.*?\)|open with engine replay): (\d+) records.* in (\d+) ms = ([\d,]+) records\/s$/)
    .map(([, what, records, , rate]) => ({
      suite: 'recovery',
      metric: what.startsWith('open') ? `WAL + engine replay, ${records} records` : `WAL scan only, ${records} records`,
      value: num(rate),
      unit: 'records/s',
    }))
  return [...appends, ...recovery]
}

/** bench/rcp.ts ends with one JSON line. */
function parseRcp (stdout: string): Row[] {
  const last = stdout.trim().split('\n').pop() ?? '{}'
  const report = JSON.parse(last) as { connections: number, results: Array<{ op: string, ops_per_sec: number, p50_ms: number, p99_ms: number, errors: number }> }
  return report.results.map(r => {
    if (r.errors > 0) throw new Error(`${r.op}: ${r.errors} errors`)
    return { suite: 'rcp', metric: `${r.op}, ${report.connections} connections`, value: r.ops_per_sec, unit: 'ops/s', p50_ms: r.p50_ms, p99_ms: r.p99_ms }
  })
}

/** bench/http.ts: REST vs RCP rows per connection count, then the WebSocket fan-out rows. */
function parseHttp (stdout: string): Row[] {
  const rest = lines(stdout, /^\s*(\d+) conn\s+REST\s+(\d+)\/s p50 ([\d.]+) ms p99 ([\d.]+) ms\s+\|\s+RCP\s+(\d+)\/s p50 ([\d.]+) ms p99 ([\d.]+) ms/)
    .flatMap(([, conns, rRate, r50, r99, cRate, c50, c99]) => [
      { suite: 'http', metric: `REST APPLY_EVENT, ${conns} connections`, value: num(rRate), unit: 'ops/s', p50_ms: Number(r50), p99_ms: Number(r99) },
      { suite: 'http', metric: `same load over RCP, ${conns} connections`, value: num(cRate), unit: 'ops/s', p50_ms: Number(c50), p99_ms: Number(c99) },
    ])
  const fanout = lines(stdout, /^\s*S=\s*(\d+)\s+deliveries (\d+)\/(\d+).*sent→response p50 ([\d.]+) ms p99 ([\d.]+) ms.*sent→last subscriber p50 ([\d.]+) ms p99 ([\d.]+) ms/)
    .flatMap(([, subs, got, want, , , d50, d99]) => [
      { suite: 'fan-out', metric: `WebSocket write→delivery, ${subs} subscribers`, value: Number(got) / Number(want) * 100, unit: '% delivered', p50_ms: Number(d50), p99_ms: Number(d99) },
    ])
  return [...rest, ...fanout]
}

function runChild (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  return new Promise(resolve => child.once('close', code => resolve({ code, stdout, stderr })))
}

/** Restarts the server on the data the RCP load left behind and reads its recovery report. */
async function restartRecovery (server: RunningServer): Promise<Row[]> {
  await server.stop()
  const started = performance.now()
  const again = await startServer({ dataDir: server.dataDir, env: { RSTMDB_HTTP_ENABLED: 'false', RSTMDB_COMPACT_ENABLED: 'false' }, timeoutMs: 120_000 })
  const ms = performance.now() - started
  await again.stop()
  const report = again.logs.find(l => l.message === 'storage recovered') as { records_replayed: number, duration_ms: number } | undefined
  if (report === undefined) throw new Error('no "storage recovered" log line')
  return [
    { suite: 'recovery', metric: `server restart to ready, ${report.records_replayed} records replayed`, value: Math.round(ms), unit: 'ms' },
    { suite: 'recovery', metric: 'storage recovery inside that restart', value: report.duration_ms, unit: 'ms' },
  ]
}

function table (rows: Row[]): string {
  const cells = rows.map(r => [r.suite, r.metric, r.value.toLocaleString('en-US', { maximumFractionDigits: 3 }), r.unit, r.p50_ms?.toFixed(2) ?? '', r.p99_ms?.toFixed(2) ?? ''])
  const head = ['suite', 'metric', 'value', 'unit', 'p50 ms', 'p99 ms']
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map(c => c[i].length)))
  const fmt = (c: string[]): string => c.map((x, i) => (i === 2 || i >= 4 ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join(' | ')
  return [fmt(head), widths.map(w => '-'.repeat(w)).join('-|-'), ...cells.map(fmt)].join('\n')
}

async function main (): Promise<number> {
  const started = Date.now()
  // compaction off: the restart then replays the whole WAL the RCP load wrote
  const server = await startServer({ env: { RSTMDB_HTTP_ENABLED: 'false', RSTMDB_FSYNC_POLICY: 'every_write', RSTMDB_COMPACT_ENABLED: 'false' } })
  const suites: Suite[] = [
    { name: 'engine', args: ['--expose-gc', path.join(DIST, 'engine.js')], env: { BENCH_INSTANCES: String(SIZES.engine_instances) }, parse: parseEngine },
    { name: 'protocol', args: [path.join(DIST, 'protocol.js')], parse: parseProtocol },
    { name: 'wal', args: [path.join(DIST, 'wal.js')], env: { RECOVERY_RECORDS: String(SIZES.recovery_records) }, parse: parseWal },
    {
      name: 'rcp',
      args: [path.join(DIST, 'rcp.js'), '--address', `127.0.0.1:${server.rcpPort}`, '--instances', String(SIZES.rcp_instances),
        '--events', String(SIZES.rcp_events_per_instance), '--connections', String(SIZES.rcp_connections), '--workers', '1'],
      parse: parseRcp,
    },
    { name: 'http', args: [path.join(DIST, 'http.js'), String(SIZES.http_seconds_per_row)], parse: parseHttp },
  ]
  const rows: Row[] = []
  const failures: Array<{ suite: string, error: string }> = []
  const timings: Record<string, number> = {}
  for (const suite of suites) {
    process.stderr.write(`bench: ${suite.name}…\n`)
    const t0 = performance.now()
    const out = await runChild(suite.args, suite.env)
    timings[suite.name] = Math.round((performance.now() - t0) / 100) / 10
    try {
      if (out.code !== 0) throw new Error(`exit ${String(out.code)}: ${out.stderr.trim().split('\n').slice(-3).join(' / ')}`)
      const parsed = suite.parse(out.stdout)
      if (parsed.length === 0) throw new Error('no figures found in its output')
      rows.push(...parsed)
    } catch (err) {
      failures.push({ suite: suite.name, error: (err as Error).message })
    }
  }
  process.stderr.write('bench: restart recovery…\n')
  try {
    rows.push(...await restartRecovery(server))
  } catch (err) {
    failures.push({ suite: 'restart recovery', error: (err as Error).message })
  } finally {
    await server.stop()
    removeDir(server.dataDir)
  }

  const cpus = os.cpus()
  const result = {
    date: new Date().toISOString(),
    duration_sec: Math.round((Date.now() - started) / 1000),
    fsync_policy: 'every_write (server, RCP and HTTP suites); the WAL suite runs each policy',
    machine: { cpus: cpus.length, cpu_model: cpus[0]?.model ?? 'unknown', memory_gb: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version },
    sizes: SIZES,
    suite_seconds: timings,
    rows,
    failures,
  }
  mkdirSync(path.dirname(RESULTS), { recursive: true })
  writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`rstmdb bench, ${result.date}, ${result.machine.cpus} × ${result.machine.cpu_model}, node ${process.version}, ${result.duration_sec} s`)
  console.log(table(rows))
  for (const f of failures) console.log(`FAILED ${f.suite}: ${f.error}`)
  console.log(`written to ${path.relative(process.cwd(), RESULTS)}`)
  return failures.length === 0 ? 0 : 1
}

main().then(code => process.exit(code), err => {
  console.error(err)
  process.exit(1)
})
