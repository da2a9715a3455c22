import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** dist/test/support → dist/src/main.js */
export const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/main.js')

export interface RunningServer {
  child: ChildProcess
  dataDir: string
  rcpPort: number
  httpPort: number | null
  /** every JSON log line seen so far */
  logs: Array<Record<string, unknown>>
  stderr: () => string
  /** SIGTERM and wait for exit; resolves with the exit code */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

export interface StartOptions {
  env?: Record<string, string>
  dataDir?: string
  args?: string[]
  /** give up waiting for "ready" after this long */
  timeoutMs?: number
}

export function tempDir (prefix = 'rstmdb-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix))
}

/** Starts the real server on ephemeral loopback ports and waits for its "ready" log line. */
export function startServer (opts: StartOptions = {}): Promise<RunningServer> {
  const dataDir = opts.dataDir ?? tempDir()
  const child = spawn(process.execPath, [MAIN, ...(opts.args ?? [])], {
    env: {
      PATH: process.env.PATH ?? '',
      RSTMDB_DATA: dataDir,
      RSTMDB_BIND: '127.0.0.1:0',
      RSTMDB_HTTP_BIND: '127.0.0.1:0',
      RSTMDB_HTTP_ENABLED: 'false',
      RSTMDB_LOG_LEVEL: 'info',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: Array<Record<string, unknown>> = []
  let stderr = ''
  let buffered = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not become ready: ${stderr}`))
    }, opts.timeoutMs ?? 20_000)
    const early = (code: number | null): void => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${String(code)} before ready: ${stderr}`))
    }
    child.once('exit', early)
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
        if (entry.message === 'ready') {
          clearTimeout(timer)
          child.off('exit', early)
          const port = (addr: unknown): number => Number(String(addr).split(':').pop())
          resolve({
            child,
            dataDir,
            rcpPort: port(entry.rcp),
            httpPort: entry.http === undefined ? null : port(entry.http),
            logs,
            stderr: () => stderr,
            async stop (signal = 'SIGTERM') {
              if (child.exitCode === null && child.signalCode === null) child.kill(signal)
              return await exited
            },
          })
        }
      }
    })
  })
}

/** Runs the server binary to completion (startup failures) and collects its output. */
export function runServer (opts: StartOptions = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...(opts.args ?? [])], {
    env: {
      PATH: process.env.PATH ?? '',
      RSTMDB_DATA: opts.dataDir ?? tempDir(),
      RSTMDB_BIND: '127.0.0.1:0',
      RSTMDB_HTTP_BIND: '127.0.0.1:0',
      RSTMDB_HTTP_ENABLED: 'false',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000)
  return new Promise(resolve => child.once('close', code => {
    clearTimeout(timer)
    resolve({ code, stdout, stderr })
  }))
}

export function removeDir (dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

/** A loopback port that was free a moment ago, for a listener whose address must be known before it starts. */
export async function freePort (): Promise<number> {
  const probe = net.createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as net.AddressInfo
  await new Promise(resolve => probe.close(resolve))
  return port
}
