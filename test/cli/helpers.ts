import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import tap from 'tap'
import { WALKTHROUGH_ORDER } from '../support/machines.js'
import { tempDir } from '../support/temp-dir.js'

/** The real CLI as a child process (compiled: dist/test/cli → dist/src), next to the real server of test/support. */

export const CLI_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js')

const INHERITED = /^(RSTMDB_|TAP|_TAPJS)|^(NO_COLOR|RUST_LOG|NODE_OPTIONS)$/

/**
 * The environment without anything that would steer the CLI from outside the test
 * (tap's NODE_OPTIONS would also load its process tracker into every child).
 */
function cleanEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!INHERITED.test(key)) env[key] = value
  }
  return env
}

export interface CliResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

export interface CliOptions {
  env?: Record<string, string>
  input?: string
  cwd?: string
}

/** Runs `node dist/src/cli/main.js ...args` to completion, with HOME in a temp dir (removed when the test file ends). */
export function runCli (args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options)
  if (options.input !== undefined) child.stdin?.end(options.input)
  else child.stdin?.end()
  return finished(child)
}

export type CliProcess = ChildProcess & {
  output: { stdout: string, stderr: string }
  /** settles on 'close', which may come before anyone waits for it */
  done: Promise<CliResult>
}

export function spawnCli (args: string[], options: CliOptions = {}): CliProcess {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], {
    env: { ...cleanEnv(), HOME: tempDir(tap, 'rstmdb-cli-home-'), ...options.env },
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as CliProcess
  child.output = { stdout: '', stderr: '' }
  child.stdout?.on('data', (chunk: Buffer) => { child.output.stdout += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { child.output.stderr += chunk.toString() })
  child.done = new Promise((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, ...child.output }))
  })
  return child
}

export async function finished (child: CliProcess): Promise<CliResult> {
  return await child.done
}

/** Resolves once `stream` of the child has printed something matching `pattern`. */
export function waitForOutput (child: CliProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const text = child.output[stream]
      if (!pattern.test(text)) return false
      resolve(text)
      return true
    }
    if (check()) return
    const source = stream === 'stdout' ? child.stdout : child.stderr
    const onData = (): void => { if (check()) source?.off('data', onData) }
    // registered after the collector, so the collected text already includes this chunk
    source?.on('data', onData)
    void child.done.then(() => {
      if (!check()) reject(new Error(`${stream} never matched ${String(pattern)}:\n${child.output[stream]}\nstderr: ${child.output.stderr}`))
    })
  })
}

/** The order machine of the README walkthrough, as the README sends it. */
export const ORDER_DEFINITION = JSON.stringify(WALKTHROUGH_ORDER)
