import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The real server as a child process on ephemeral loopback ports (compiled: dist/bench →
 * dist/src). The benchmarks start it through here, and so does test/support/server.ts.
 */

export const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.js')

export interface RunningServer {
  child: ChildProcess
  dataDir: string
  rcpPort: number
  /** `127.0.0.1:<rcpPort>`, as clients are given it */
  address: string
  httpPort: number | null
  /** every JSON log line seen so far */
  logs: Array<Record<string, unknown>>
  stderr: () => string
  /** signal (SIGTERM unless given) and wait for the exit; resolves with the exit code */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

export interface StartOptions {
  env?: Record<string, string>
  /** default: a fresh temp dir */
  dataDir?: string
  args?: string[]
  /** give up waiting for "ready" after this long */
  timeoutMs?: number
  /** node flags for the server process, e.g. --cpu-prof */
  nodeArgs?: string[]
  /** the server's entry point (default: this build's dist/src/main.js), e.g. another checkout's, to compare builds */
  main?: string
}

/** Only PATH is inherited: nothing from the caller's environment (RSTMDB_*, tap's NODE_OPTIONS) steers the server. */
export function serverEnv (dataDir: string, env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    RSTMDB_DATA: dataDir,
    RSTMDB_BIND: '127.0.0.1:0',
    RSTMDB_HTTP_BIND: '127.0.0.1:0',
    RSTMDB_HTTP_ENABLED: 'false',
    RSTMDB_LOG_LEVEL: 'info',
    ...env,
  }
}

/**
 * Starts the server and waits for its "ready" log line. The caller stops it and removes
 * its data dir (startServer does both at teardown).
 */
export function launchServer (opts: StartOptions = {}): Promise<RunningServer> {
  const ownDir = opts.dataDir === undefined
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'rstmdb-data-'))
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.main ?? MAIN, ...(opts.args ?? [])], { env: serverEnv(dataDir, opts.env), stdio: ['ignore', 'pipe', 'pipe'] })
  const logs: Array<Record<string, unknown>> = []
  let stderr = ''
  let buffered = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  // 'close', not 'exit': the log lines written just before exiting may still be in the pipe at 'exit'
  const exited = new Promise<number | null>(resolve => child.once('close', code => resolve(code)))

  return new Promise((resolve, reject) => {
    const failed = (message: string): void => {
      if (ownDir) removeDir(dataDir)
      reject(new Error(message))
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      failed(`server did not become ready: ${stderr}`)
    }, opts.timeoutMs ?? 20_000)
    const early = (code: number | null): void => {
      clearTimeout(timer)
      failed(`server exited with ${String(code)} before ready: ${stderr}`)
    }
    child.once('close', early)
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString()
      let nl = buffered.indexOf('\n')
      while (nl >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        nl = buffered.indexOf('\n')
        let entry: Record<string, unknown>
        try { entry = JSON.parse(line) } catch { continue }
        logs.push(entry)
        if (entry.message !== 'ready') continue
        clearTimeout(timer)
        child.off('close', early)
        const port = (addr: unknown): number => Number(String(addr).split(':').pop())
        const rcpPort = port(entry.rcp)
        resolve({
          child,
          dataDir,
          rcpPort,
          address: `127.0.0.1:${rcpPort}`,
          httpPort: entry.http === undefined ? null : port(entry.http),
          logs,
          stderr: () => stderr,
          async stop (signal = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal)
            return await exited
          },
        })
      }
    })
  })
}

export function removeDir (dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

const LOWEST_PORT = 10000
const handedOut = new Set<number>()

/** The first port of the kernel's ephemeral range (outgoing connections' source ports); Linux's default without /proc. */
function ephemeralLow (): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > 0 ? low : 32768
  } catch {
    return 32768
  }
}

/** binds the port (0: any) and lets it go again: the port it got, or null when it was taken */
function probePort (port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(null))
    probe.listen(port, '127.0.0.1', () => {
      const bound = (probe.address() as net.AddressInfo).port
      probe.close(() => resolve(bound))
    })
  })
}

/**
 * A loopback port that was free a moment ago, for a listener whose address must be known before it
 * starts, or that restarts on the same port. It lies below the ephemeral range: a port from
 * listen(0) may become the source port of any outgoing connection before the real listener binds,
 * or while a killed server is down, and the (re)start then fails with EADDRINUSE. A port is never
 * handed out twice by one process, so a stopped server keeps its port for its restart.
 */
export async function freePort (): Promise<number> {
  const span = ephemeralLow() - LOWEST_PORT
  const tries = span > 1000 ? 100 : 0
  for (let n = 0; n < tries; n++) {
    const port = LOWEST_PORT + Math.floor(Math.random() * span)
    if (handedOut.has(port) || (await probePort(port)) === null) continue
    handedOut.add(port)
    return port
  }
  const port = await probePort(0)
  if (port === null) throw new Error('no free loopback port')
  return port
}
