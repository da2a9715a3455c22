import { spawn } from 'node:child_process'
import { launchServer, MAIN, removeDir, serverEnv, type RunningServer, type StartOptions } from '../../bench/server.js'
import { tempDir, type Teardown } from './temp-dir.js'

/** The real server for tests: one starter, on ephemeral loopback ports, cleaned up at teardown. */

export { freePort, launchServer, MAIN, removeDir, type RunningServer, type StartOptions } from '../../bench/server.js'

/** One real server for a test (or a test file): killed at teardown, its data dir removed unless the test gave one. */
export async function startServer (t: Teardown, opts: StartOptions = {}): Promise<RunningServer> {
  const server = await launchServer(opts)
  t.teardown(async () => {
    await server.stop('SIGKILL')
    if (opts.dataDir === undefined) removeDir(server.dataDir)
  })
  return server
}

/** Runs the server binary to completion (startup failures) and collects its output. */
export function runServer (t: Teardown, opts: StartOptions = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...(opts.args ?? [])], {
    env: serverEnv(opts.dataDir ?? tempDir(t, 'rstmdb-data-'), opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  // a guard against a server that never exits, not a measure: nine startups side by side on a loaded
  // two-core machine, with coverage recorded, took longer than 20 s
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
  return new Promise(resolve => child.once('close', code => {
    clearTimeout(timer)
    resolve({ code, stdout, stderr })
  }))
}
