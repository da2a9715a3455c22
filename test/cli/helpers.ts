import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMessageDecoder, encodeMessage, parseMessage } from '../../protocol/codec.js'
import type { JsonObject } from '../../protocol/entries.js'

/** Real server, real CLI, both as child processes (compiled: dist/test/cli → dist/src). */

const here = path.dirname(fileURLToPath(import.meta.url))
export const SERVER_MAIN = path.resolve(here, '../../src/main.js')
export const CLI_MAIN = path.resolve(here, '../../src/cli/main.js')

interface Teardown { teardown: (fn: () => unknown) => void }

export function tempDir (prefix = 'rstmdb-cli-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

const INHERITED = /^(RSTMDB_|TAP|_TAPJS)|^(NO_COLOR|RUST_LOG|NODE_OPTIONS)$/

/**
 * The environment without anything that would steer the CLI or the server from outside
 * the test (tap's NODE_OPTIONS would also load its process tracker into every child).
 */
function cleanEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!INHERITED.test(key)) env[key] = value
  }
  return env
}

export interface Server {
  address: string
  port: number
  dataDir: string
  process: ChildProcess
  /** SIGTERM and wait for the exit */
  stop: () => Promise<void>
}

export async function startServer (t: Teardown, env: Record<string, string> = {}): Promise<Server> {
  const dataDir = tempDir('rstmdb-cli-data-')
  const child = spawn(process.execPath, [SERVER_MAIN], {
    env: {
      ...cleanEnv(),
      RSTMDB_DATA: dataDir,
      RSTMDB_BIND: '127.0.0.1:0',
      RSTMDB_HTTP_ENABLED: 'false',
      RSTMDB_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  t.teardown(stop)
  let log = ''
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => { log += chunk.toString() })
    child.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      for (const line of log.split('\n')) {
        const rcp = line.includes('"message":"ready"') ? /"rcp":"127\.0\.0\.1:(\d+)"/.exec(line) : null
        if (rcp !== null) resolve(Number(rcp[1]))
      }
    })
    child.once('exit', code => reject(new Error(`server exited with ${String(code)} before ready:\n${log}`)))
  })
  return { address: `127.0.0.1:${port}`, port, dataDir, process: child, stop }
}

export interface CliResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

export interface CliOptions {
  env?: Record<string, string>
  input?: string
  cwd?: string
}

/** Runs `node dist/src/cli/main.js ...args` to completion, with HOME in a temp dir. */
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
    env: { ...cleanEnv(), HOME: tempDir('rstmdb-cli-home-'), ...options.env },
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

export interface Certs {
  dir: string
  ca: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  /** a second CA that signed nothing we use */
  otherCa: string
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, made with the openssl binary. */
export function makeCerts (): Certs {
  const dir = tempDir('rstmdb-cli-tls-')
  const file = (name: string): string => path.join(dir, name)
  const ssl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }) }
  const newCa = (name: string): void => {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`),
      '-days', '2', '-subj', `/CN=${name}`)
  }
  newCa('ca')
  newCa('other-ca')
  const leaf = (name: string, ext: string): void => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`)
    fs.writeFileSync(file(`${name}.ext`), ext)
    ssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file(`${name}.pem`), '-days', '2', '-extfile', file(`${name}.ext`))
  }
  leaf('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  leaf('client', 'extendedKeyUsage=clientAuth\n')
  return {
    dir,
    ca: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
    otherCa: file('other-ca.pem'),
  }
}

/**
 * A loopback server speaking just enough RCP to put the CLI in situations a correct
 * server never creates: `answer` returns the messages to send back (raw Buffers are sent
 * as they are, 'close' ends the connection there), or 'close' to drop the connection at once.
 */
export async function startFakeServer (t: Teardown, answer: (request: JsonObject) => Array<JsonObject | Buffer | 'close'> | 'close'): Promise<string> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const decoder = createMessageDecoder()
    socket.on('data', (chunk) => {
      decoder.push(chunk, (mode, payload) => {
        const reply = answer(parseMessage(payload))
        if (reply === 'close') {
          socket.destroy()
          return
        }
        for (const message of reply) {
          if (message === 'close') socket.end()
          else socket.write(Buffer.isBuffer(message) ? message : encodeMessage(message, mode))
        }
      })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy()
    server.close(() => resolve())
  }))
  const { port } = server.address() as net.AddressInfo
  return `127.0.0.1:${port}`
}

export const ok = (request: JsonObject, result: JsonObject): JsonObject =>
  ({ type: 'response', id: request.id, status: 'ok', result })

/** The order machine of the README walkthrough. */
export const ORDER_DEFINITION = '{"states":["created","paid","shipped","delivered"],"initial":"created","transitions":[{"from":"created","event":"PAY","to":"paid"},{"from":"paid","event":"SHIP","to":"shipped"},{"from":"shipped","event":"DELIVER","to":"delivered"}]}'
