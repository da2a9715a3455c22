import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Report } from './report.js'

/**
 * The performance section of README.md, written from the figures of `npm run bench`
 * (bench/results/latest.json) between two marker comments, so the README shows the last
 * complete run and nothing typed by hand. run.js calls writeReadmeTable after a run with no
 * failure; `node dist/bench/readme-table.js [results.json]` writes it again from a saved file.
 */

/** What run.js writes to bench/results/latest.json (the fields this module reads). */
export interface BenchResult {
  date: string
  machine: { cpus: number, cpu_model: string, memory_gb: number, platform: string, node: string }
  load_average: { start: number[], end: number[] }
  reports: Record<string, Report>
  [field: string]: unknown
}

const DIST = path.dirname(fileURLToPath(import.meta.url))
export const README = path.resolve(DIST, '../../README.md')
const RESULTS = path.resolve(DIST, '../../bench/results/latest.json')
const START = '<!-- bench-table:start: written by `npm run bench` from bench/results/latest.json; edits here are overwritten -->'
const END = '<!-- bench-table:end -->'

const count = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 })
const ms = (n: unknown): string => typeof n === 'number' ? n.toFixed(2) : '–'
const pair = (r: Record<string, unknown>, p50 = 'p50_ms', p99 = 'p99_ms'): string => `${ms(r[p50])} / ${ms(r[p99])}`

function report (result: BenchResult, name: string): Report {
  const found = result.reports[name]
  if (found === undefined) throw new Error(`no "${name}" report in the results`)
  return found
}

/** The results of one report matching every given field; at least one must exist. */
function pick (r: Report, where: Record<string, unknown>): Array<Record<string, unknown>> {
  const found = r.results.filter(x => Object.entries(where).every(([k, v]) => x[k] === v))
  if (found.length === 0) throw new Error(`no result with ${JSON.stringify(where)}`)
  return found
}
const one = (r: Report, where: Record<string, unknown>): Record<string, unknown> => pick(r, where)[0]
const num = (x: Record<string, unknown>, key: string): number => {
  const value = x[key]
  if (typeof value !== 'number') throw new Error(`result ${JSON.stringify(x)}: "${key}" is not a number`)
  return value
}

function markdown (head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map(r => `| ${r.join(' | ')} |`)].join('\n')
}

function rcpTable (result: BenchResult): string {
  const runs = Object.entries(result.reports).filter(([name]) => name.startsWith('rcp ')).map(([, r]) => r)
  if (runs.length === 0) throw new Error('no RCP reports in the results')
  const rows = ['APPLY_EVENT', 'CREATE_INSTANCE'].flatMap(op => runs.map(run => {
    const r = one(run, { op })
    return [op, `\`${String(run.fsync)}\``, `${String(run.connections)} × ${String(run.depth)}`, count(num(r, 'ops_per_sec')), pair(r), String(r.server_cpu_us_per_op ?? '–')]
  }))
  return markdown(['RCP operation', 'fsync', 'connections × in flight', 'ops/s', 'p50 / p99 ms', 'server CPU µs/op'], rows)
}

function restTable (result: BenchResult): string {
  const http = report(result, 'http')
  const rows = pick(http, { name: 'apply_event', face: 'rest' }).map(rest => {
    const rcp = one(http, { name: 'apply_event', face: 'rcp', connections: rest.connections })
    return [String(rest.connections), count(num(rest, 'ops_per_sec')), count(num(rcp, 'ops_per_sec')),
      `${Math.round(100 * num(rest, 'ops_per_sec') / num(rcp, 'ops_per_sec'))} %`, pair(rest), pair(rcp),
      `${String(rest.server_cpu_us_per_op)} / ${String(rcp.server_cpu_us_per_op)}`]
  })
  return markdown(['connections', 'REST ops/s', 'RCP ops/s', 'REST/RCP', 'REST p50 / p99 ms', 'RCP p50 / p99 ms', 'server CPU µs/op REST / RCP'], rows)
}

function otherTable (result: BenchResult): string {
  const engine = report(result, 'engine')
  const wal = report(result, 'wal')
  const http = report(result, 'http')
  const restart = one(report(result, 'restart'), { name: 'restart' })
  const list = one(engine, { name: 'list_instances' })
  const appends = (policy: string): Array<Record<string, unknown>> => pick(wal, { name: 'append', policy })
  const durable = appends('every_write')
  const at64 = (policy: string): string => count(num(one(wal, { name: 'append', policy, writers: 64 }), 'appends_per_sec'))
  const scan = one(wal, { name: 'recovery_scan' })
  const replay = one(wal, { name: 'recovery_engine_replay' })
  const rss = one(wal, { name: 'recovery_rss' })
  const fanout = (face: string, label: string): string[] => {
    const rows = pick(http, { name: 'fanout', face })
    const delivered = rows.every(r => r.deliveries === r.expected_deliveries) ? 'all delivered' : rows.map(r => `${String(r.deliveries)}/${String(r.expected_deliveries)} delivered`).join(', ')
    return ['fan-out', `${label} write → delivery, ${rows.map(r => count(num(r, 'subscribers'))).join(' / ')} subscribers (${delivered})`, '', rows.map(r => pair(r, 'delivery_p50_ms', 'delivery_p99_ms')).join(', ') + ' ms']
  }
  const rows = [
    ['engine', 'apply-event decide+apply, no guard / with a guard', `${count(num(one(engine, { name: 'apply_event', guard: false }), 'ops_per_sec'))} / ${count(num(one(engine, { name: 'apply_event', guard: true }), 'ops_per_sec'))} ops/s`, ''],
    ['engine', `LIST_INSTANCES, ${String(list.filter)} filter, page of ${String(list.limit)} with \`after\`, ${count(num(engine, 'instances'))} instances`, '', `${pair(list)} ms`],
    ['engine', 'heap per instance beyond its ctx', `${count(num(one(engine, { name: 'heap' }), 'bytes_per_instance_beyond_ctx'))} bytes`, ''],
    ['WAL', `durable appends, \`every_write\`, ${durable.map(r => String(r.writers)).join(' / ')} writers (group commit)`,
      `${durable.map(r => count(num(r, 'appends_per_sec'))).join(' / ')} /s`, `${pair(durable[durable.length - 1])} ms at ${String(durable[durable.length - 1].writers)}`],
    ['WAL', 'appends, `every_n:100` / `every_ms:10` / `never`, 64 writers', `${at64('every_n:100')} / ${at64('every_ms:10')} / ${at64('never')} /s`, ''],
    ['recovery', `WAL scan only / scan + engine replay, ${count(num(scan, 'records'))} records`, `${count(num(scan, 'records_per_sec'))} / ${count(num(replay, 'records_per_sec'))} records/s`, ''],
    ['recovery', 'the same per CPU-second of the recovering process (less sensitive to other work on the machine)', `${count(num(scan, 'records_per_cpu_sec'))} / ${count(num(replay, 'records_per_cpu_sec'))} records/s`, ''],
    ['recovery', `RSS after recovering ${count(num(rss, 'instances'))} instances from ${count(num(rss, 'records'))} records (peak)`, `${String(rss.rss_mb)} MiB (${String(rss.peak_rss_mb)})`, ''],
    ['recovery', `server restart to ready with ${count(num(restart, 'records_replayed'))} records to replay (storage recovery inside it)`, `${count(num(restart, 'ready_ms'))} ms (${count(num(restart, 'storage_recovery_ms'))})`, ''],
    fanout('ws', 'WebSocket'),
    fanout('sse', 'SSE'),
  ]
  return markdown(['Suite', 'Figure', 'Value', 'p50 / p99'], rows)
}

/** The section between the markers: when and where it was measured, then the tables. */
export function renderReadmeTable (result: BenchResult): string {
  const { machine, load_average: load } = result
  const loads = (l: number[]): string => l.map(n => n.toFixed(2)).join(', ')
  return [
    `Measured with \`npm run bench\` on ${result.date.slice(0, 16).replace('T', ' ')} UTC: ${machine.cpus} × ${machine.cpu_model}, ${machine.memory_gb} GiB,`,
    `Node ${machine.node}, load generator on the same machine; load average (1, 5, 15 min) ${loads(load.start)} at the start`,
    `and ${loads(load.end)} at the end (other work shares this machine: compare rows of one run, not runs).`,
    '',
    'RCP through the SDK (`bench/rcp.ts`), one client thread; `1` in flight is how SDK and CLI users call;',
    'server CPU is the server process\'s CPU time (all threads) per operation:',
    '',
    rcpTable(result),
    '',
    'REST APPLY_EVENT against the same load over RCP, one request in flight per connection, `every_write`:',
    '',
    restTable(result),
    '',
    'The other suites (`every_write` unless a row names another policy):',
    '',
    otherTable(result),
  ].join('\n')
}

export function replaceSection (readme: string, section: string): string {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) throw new Error(`README.md has no "${START}" … "${END}" section`)
  return `${readme.slice(0, start + START.length)}\n${section}\n${readme.slice(end)}`
}

export function writeReadmeTable (result: BenchResult, readmePath = README): void {
  writeFileSync(readmePath, replaceSection(readFileSync(readmePath, 'utf8'), renderReadmeTable(result)))
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2] ?? RESULTS
  writeReadmeTable(JSON.parse(readFileSync(file, 'utf8')) as BenchResult)
  console.log(`performance table in ${path.relative(process.cwd(), README)} written from ${path.relative(process.cwd(), file)}`)
}
