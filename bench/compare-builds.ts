import { spawn } from 'node:child_process'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { RCP_POLICIES, rcpArgs, rcpShapes, type RcpPolicy, type RcpShape } from './rcp-shapes.js'
import { parseReport } from './report.js'
import { launchServer, removeDir } from './server.js'

/**
 * `node dist/bench/compare-builds.js <before main.js> <after main.js> [--rounds 3] [--scale 1]`:
 * the RCP shapes of `npm run bench` against two builds of the server (e.g. another checkout's
 * dist/src/main.js), with this build's load generator for both. Each round starts a fresh
 * server per build and policy, alternating which build goes first, so a change in the
 * machine's load falls on both; prints each figure's range over the rounds and the after/before
 * ratio of the medians, then one JSON line.
 */

interface Sample { ops_per_sec: number, p50_ms: number, p99_ms: number, server_cpu_us_per_op: number }

function runRcp (args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.once('error', reject)
    child.once('close', code => code === 0 ? resolve(stdout) : reject(new Error(`rcp.js ${args.slice(1).join(' ')}: exit ${String(code)}`)))
  })
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const range = (xs: number[], digits = 0): string => {
  const [lo, hi] = [Math.min(...xs), Math.max(...xs)].map(n => n.toLocaleString('en-US', { maximumFractionDigits: digits }))
  return lo === hi ? lo : `${lo}–${hi}`
}

async function main (): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string', default: '3' }, scale: { type: 'string', default: '1' } } })
  if (positionals.length !== 2) throw new Error('usage: compare-builds.js <before main.js> <after main.js> [--rounds N] [--scale S]')
  const builds = positionals
  const rounds = Number(values.rounds)
  const shapes = rcpShapes(Number(values.scale))
  const samples = new Map<string, Sample[]>()
  const key = (build: number, policy: RcpPolicy, shape: RcpShape, op: string): string => `${build} ${policy} ${shape.connections}×${shape.depth} ${op}`
  const loads: number[] = []
  for (let round = 0; round < rounds; round++) {
    for (const policy of RCP_POLICIES) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0]
      for (const build of order) {
        const server = await launchServer({ main: builds[build], env: { RSTMDB_HTTP_ENABLED: 'false', RSTMDB_FSYNC_POLICY: policy, RSTMDB_COMPACT_ENABLED: 'false' } })
        try {
          for (const shape of shapes) {
            loads.push(os.loadavg()[0])
            const report = parseReport(await runRcp(rcpArgs(server, policy, shape)))
            for (const r of report.results) {
              if (r.errors !== 0) throw new Error(`${builds[build]} ${policy} ${JSON.stringify(shape)}: ${String(r.errors)} errors`)
              const list = samples.get(key(build, policy, shape, String(r.op))) ?? []
              list.push(r as unknown as Sample)
              samples.set(key(build, policy, shape, String(r.op)), list)
            }
            process.stderr.write(`round ${round + 1}/${rounds} ${policy} build ${build === 0 ? 'before' : 'after'} ${shape.connections}×${shape.depth} done\n`)
          }
        } finally {
          await server.stop()
          removeDir(server.dataDir)
        }
      }
    }
  }

  const rows = ['APPLY_EVENT', 'CREATE_INSTANCE'].flatMap(op => RCP_POLICIES.flatMap(policy => shapes.map(shape => {
    const [before, after] = [0, 1].map(build => samples.get(key(build, policy, shape, op)) ?? [])
    const pick = (list: Sample[], field: keyof Sample): number[] => list.map(s => s[field])
    return {
      op,
      fsync: policy,
      connections: shape.connections,
      depth: shape.depth,
      before: { ops_per_sec: pick(before, 'ops_per_sec'), p50_ms: pick(before, 'p50_ms'), p99_ms: pick(before, 'p99_ms'), server_cpu_us_per_op: pick(before, 'server_cpu_us_per_op') },
      after: { ops_per_sec: pick(after, 'ops_per_sec'), p50_ms: pick(after, 'p50_ms'), p99_ms: pick(after, 'p99_ms'), server_cpu_us_per_op: pick(after, 'server_cpu_us_per_op') },
      ratio: Number((median(pick(after, 'ops_per_sec')) / median(pick(before, 'ops_per_sec'))).toFixed(2)),
    }
  })))

  console.log(`before: ${builds[0]}\nafter:  ${builds[1]}\n${rounds} rounds; 1-minute load average during the runs ${range(loads, 1)}\n`)
  console.log('| RCP operation | fsync | connections × in flight | ops/s before | ops/s after | after/before (medians) | p50 ms before → after | p99 ms before → after | server CPU µs/op before → after |')
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const r of rows) {
    console.log(`| ${r.op} | \`${r.fsync}\` | ${r.connections} × ${r.depth} | ${range(r.before.ops_per_sec)} | ${range(r.after.ops_per_sec)} | ${r.ratio.toFixed(2)} | ` +
      `${range(r.before.p50_ms, 2)} → ${range(r.after.p50_ms, 2)} | ${range(r.before.p99_ms, 2)} → ${range(r.after.p99_ms, 2)} | ` +
      `${range(r.before.server_cpu_us_per_op)} → ${range(r.after.server_cpu_us_per_op)} |`)
  }
  console.log(JSON.stringify({ before: builds[0], after: builds[1], rounds, load_average_1m: { min: Math.min(...loads), max: Math.max(...loads) }, results: rows }))
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
