import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * `npm run profile:rcp`: runs the RCP load tool (rcp.js) against a server started
 * with `--cpu-prof`, then prints where the server spent its time: the top functions
 * by self time and the same time summed per file. Profiling slows the server down,
 * so compare shares between runs, not absolute throughput.
 *
 *   node dist/bench/profile-rcp.js [--top 30] [--save server.cpuprofile] [rcp.js options]
 *
 * rcp.js options default to one request in flight on each of 64 connections under
 * fsync `never`; any given replace those defaults one by one. `--save` keeps the
 * profile for Chrome DevTools or speedscope.
 */

interface CallFrame { functionName: string, url: string, lineNumber: number, columnNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, hitCount?: number, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

const DEFAULTS: Record<string, string> = { '--connections': '64', '--depth': '1', '--fsync': 'never', '--instances': '6400', '--events': '10' }

function parseOwnArgs (argv: string[]): { top: number, save: string | null, loadArgs: string[] } {
  let top = 30
  let save: string | null = null
  const given = new Map<string, string>()
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]]
    if (value === undefined || !name.startsWith('--')) throw new Error(`expected "--option value" pairs, got ${JSON.stringify(argv.slice(i))}`)
    if (name === '--top') top = Number(value)
    else if (name === '--save') save = value
    else if (name === '--address') throw new Error('profile:rcp profiles the server it starts itself; --address is not supported')
    else given.set(name, value)
  }
  const merged = new Map([...Object.entries(DEFAULTS), ...given])
  return { top, save, loadArgs: [...merged].flat() }
}

/** Self time per profile node in ms: each sample's delta goes to the node it hit. */
function selfTimes (profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + profile.timeDeltas[i] / 1000)
  }
  return self
}

function shortUrl (url: string): string {
  if (url === '') return ''
  const at = url.lastIndexOf('/node_modules/')
  if (at >= 0) return url.slice(at + 1)
  const dist = url.indexOf('/dist/')
  if (dist >= 0) return url.slice(dist + 6)
  return url.replace(/^file:\/\//, '')
}

function table (title: string, rows: Array<[string, number]>, total: number, top: number): void {
  console.log(`\n${title}`)
  console.log(`${'self ms'.padStart(9)} ${'share'.padStart(6)}  where`)
  for (const [name, ms] of rows.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${ms.toFixed(1).padStart(9)} ${(100 * ms / total).toFixed(1).padStart(5)}%  ${name}`)
  }
}

function summarize (profile: CpuProfile, top: number): void {
  const self = selfTimes(profile)
  const total = (profile.endTime - profile.startTime) / 1000
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  for (const node of profile.nodes) {
    const ms = self.get(node.id)
    if (ms === undefined) continue
    const { functionName, url, lineNumber } = node.callFrame
    const file = shortUrl(url)
    const name = `${functionName === '' ? '(anonymous)' : functionName}${file === '' ? '' : ` ${file}:${lineNumber + 1}`}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms)
    const group = file === '' ? functionName : file
    byFile.set(group, (byFile.get(group) ?? 0) + ms)
  }
  console.log(`\nserver profile: ${total.toFixed(0)} ms, ${profile.samples.length} samples; (idle) is time the event loop waited for I/O`)
  table(`top ${top} functions by self time`, [...byFunction], total, top)
  table(`top ${top} files by self time`, [...byFile], total, top)
}

async function main (): Promise<void> {
  const { top, save, loadArgs } = parseOwnArgs(process.argv.slice(2))
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rstmdb-profile-'))
  try {
    const rcp = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rcp.js')
    const serverArgs = `${process.env.BENCH_SERVER_NODE_ARGS ?? ''} --cpu-prof --cpu-prof-dir=${profileDir}`
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [rcp, ...loadArgs], { stdio: 'inherit', env: { ...process.env, BENCH_SERVER_NODE_ARGS: serverArgs } })
      child.on('error', reject)
      child.on('exit', resolve)
    })
    if (code !== 0) throw new Error(`rcp.js exited with ${String(code)}`)
    const files = fs.readdirSync(profileDir).filter(f => f.endsWith('.cpuprofile'))
    if (files.length !== 1) throw new Error(`expected one server profile in ${profileDir}, found ${files.length}`)
    const file = path.join(profileDir, files[0])
    summarize(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile, top)
    if (save !== null) {
      fs.copyFileSync(file, save)
      console.log(`\nprofile saved to ${save}`)
    }
  } finally {
    fs.rmSync(profileDir, { recursive: true, force: true })
  }
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
