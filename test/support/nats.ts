import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import net from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort, removeDir } from './server.js'

/**
 * Real nats-server processes for cluster tests: one JetStream server, or a cluster of
 * three with routes, each on free loopback ports with its own temporary store
 * directory. Everything is stopped by pid; teardown kills whatever is left and
 * removes the store directories. A test process that dies without teardown (a
 * timeout's SIGTERM, SIGKILL) leaves nothing either: each server has a watchdog
 * that kills it and removes its store once this process is gone.
 */

/** NATS_SERVER, else nats-server on PATH, else Debian's /usr/sbin/nats-server (not on every user's PATH) */
export const NATS_SERVER = process.env.NATS_SERVER ?? findExecutable('nats-server', ['/usr/sbin', '/usr/local/sbin'])

function findExecutable (name: string, extra: string[]): string {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), ...extra]) {
    const candidate = path.join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return name
}

const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 10_000

export interface NatsServer {
  readonly name: string
  readonly port: number
  readonly url: string
  readonly monitorPort: number
  readonly storeDir: string
  /** pid of the running process (null while stopped) */
  readonly pid: number | null
  readonly running: boolean
  /** output so far, for failure messages */
  output: () => string
  /** SIGTERM, SIGKILL after a bounded wait; resolves when the process has exited */
  stop: () => Promise<void>
  /** kill -9 */
  kill: () => Promise<void>
  /** SIGSTOP / SIGCONT */
  pause: () => void
  resume: () => void
  /** starts it again on the same ports and store directory */
  restart: () => Promise<void>
}

export interface NatsCluster {
  readonly servers: NatsServer[]
  /** client URLs of every server */
  readonly urls: string[]
  /** resolves once every running server reports a JetStream meta leader; bounded */
  waitForJetStream: (timeoutMs?: number) => Promise<void>
  /** stops every server and removes the store directories */
  stop: () => Promise<void>
}

const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

interface ServerPorts {
  name: string
  port: number
  clusterPort: number | null
  monitorPort: number
  storeDir: string
  /** the configuration file: settings that have no command-line flag */
  config: string
}

/**
 * rstmdb records go up to 16 MiB − 64 KiB (rcp.md §5) and NATS refuses messages over its
 * max_payload (1 MB unless configured), so the servers are configured as the README tells
 * operators to; a test of the refusal gives a smaller one.
 */
export const MAX_PAYLOAD = 16 * 1024 * 1024

function serverArgs (p: ServerPorts, routes: number[], extra: string[]): string[] {
  const args = ['-a', '127.0.0.1', '-p', String(p.port), '-m', String(p.monitorPort), '-n', p.name, '-js', '-sd', p.storeDir, '-c', p.config, ...extra]
  if (p.clusterPort !== null) {
    args.push('--cluster_name', 'rstmdb-test', '--cluster', `nats://127.0.0.1:${p.clusterPort}`,
      '--routes', routes.map((r) => `nats://127.0.0.1:${r}`).join(','))
  }
  return args
}

function createServer (p: ServerPorts, routes: number[], extra: string[]): NatsServer {
  let child: ChildProcess | null = null
  let exited: Promise<void> = Promise.resolve()
  let output = ''

  function launch (): void {
    const c = spawn(NATS_SERVER, serverArgs(p, routes, extra), { stdio: ['ignore', 'pipe', 'pipe'] })
    child = c
    live.add(c)
    const watchdog = c.pid === undefined
      ? null
      : spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${c.pid} 2>/dev/null; sleep 1; rm -rf -- "$0"`, p.storeDir],
        { stdio: 'ignore', detached: true })
    watchdog?.unref()
    const append = (d: Buffer): void => { output = (output + d.toString()).slice(-20_000) }
    c.stdout?.on('data', append)
    c.stderr?.on('data', append)
    exited = new Promise((resolve) => c.once('exit', () => {
      // its pid may be reused from now on: the watchdog must not outlive it
      watchdog?.kill('SIGKILL')
      live.delete(c)
      if (child === c) child = null
      resolve()
    }))
    c.once('error', (err) => { output += `spawn error: ${err.message}\n` })
  }

  async function signalAndWait (signal: NodeJS.Signals): Promise<void> {
    const c = child
    if (c === null) return
    c.kill(signal)
    // a paused process only acts on the signal once it runs again
    c.kill('SIGCONT')
    const timer = setTimeout(() => c.kill('SIGKILL'), STOP_TIMEOUT_MS)
    await exited
    clearTimeout(timer)
  }

  launch()
  return {
    name: p.name,
    port: p.port,
    url: `nats://127.0.0.1:${p.port}`,
    monitorPort: p.monitorPort,
    storeDir: p.storeDir,
    get pid () { return child?.pid ?? null },
    get running () { return child !== null },
    output: () => output,
    stop: () => signalAndWait('SIGTERM'),
    kill: () => signalAndWait('SIGKILL'),
    pause () { child?.kill('SIGSTOP') },
    resume () { child?.kill('SIGCONT') },
    async restart () {
      if (child !== null) await signalAndWait('SIGTERM')
      launch()
    },
  }
}

interface Jsz {
  meta_cluster?: { leader?: string, cluster_size?: number }
}

async function jsz (server: NatsServer): Promise<Jsz | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${server.monitorPort}/jsz`, { signal: AbortSignal.timeout(2000) })
    return res.ok ? await res.json() as Jsz : null
  } catch {
    return null
  }
}

/** true when the client port answers with the NATS INFO line (the monitor port may be up before it) */
function answersClients (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(2000, () => done(false))
    socket.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('INFO')))
    socket.once('error', () => done(false))
  })
}

/** Every running server takes clients and, in a cluster, knows its JetStream meta leader; also ends when one that should run has exited. */
async function untilReady (servers: NatsServer[], clustered: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const running = servers.filter((s) => s.running)
    if (running.length === 0) return
    const reports = await Promise.all(running.map(jsz))
    const clients = await Promise.all(running.map((s) => answersClients(s.port)))
    const ready = clients.every(Boolean) && reports.every((r) => r !== null && (!clustered || (r.meta_cluster?.leader ?? '') !== ''))
    if (ready) return
    if (Date.now() >= deadline) {
      const outputs = servers.map((s) => `--- ${s.name} (pid ${String(s.pid)}):\n${s.output().slice(-2000)}`).join('\n')
      throw new Error(`JetStream not ready within ${timeoutMs} ms\n${outputs}`)
    }
    await sleep(100)
  }
}

async function allocate (count: number, clustered: boolean, maxPayload: number): Promise<ServerPorts[]> {
  const out: ServerPorts[] = []
  for (let i = 0; i < count; i++) {
    const storeDir = mkdtempSync(path.join(tmpdir(), 'rstmdb-nats-'))
    const config = path.join(storeDir, 'nats.conf')
    writeFileSync(config, `max_payload: ${maxPayload}\n`)
    out.push({
      name: `n${i + 1}`,
      port: await freePort(),
      clusterPort: clustered ? await freePort() : null,
      monitorPort: await freePort(),
      storeDir,
      config,
    })
  }
  return out
}

class ServerExited extends Error {}

/** a free port can be taken by someone else before the server binds it: then it exits, and all start again on other ports */
const START_ATTEMPTS = 3

export interface NatsOptions {
  /** command-line flags for every server */
  args?: string[]
  /** the servers' max_payload (default MAX_PAYLOAD) */
  maxPayload?: number
}

/** Starts `size` JetStream servers (1: standalone; more: one cluster with routes) and waits until ready. */
export async function startNats (size = 1, opts: NatsOptions = {}): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(size, opts.args ?? [], opts.maxPayload ?? MAX_PAYLOAD)
    } catch (err) {
      if (!(err instanceof ServerExited) || attempt === START_ATTEMPTS) throw err
    }
  }
}

async function startOnce (size: number, extraArgs: string[], maxPayload: number): Promise<NatsCluster> {
  const clustered = size > 1
  const ports = await allocate(size, clustered, maxPayload)
  const routes = ports.map((p) => p.clusterPort).filter((p): p is number => p !== null)
  const servers = ports.map((p) => createServer(p, routes.filter((r) => r !== p.clusterPort), extraArgs))
  const cluster: NatsCluster = {
    servers,
    urls: servers.map((s) => s.url),
    waitForJetStream: (timeoutMs = READY_TIMEOUT_MS) => untilReady(servers, clustered, timeoutMs),
    async stop () {
      await Promise.all(servers.map((s) => s.kill()))
      for (const p of ports) removeDir(p.storeDir)
    },
  }
  try {
    await cluster.waitForJetStream()
    const exited = servers.filter((s) => !s.running)
    if (exited.length > 0) throw new ServerExited(`nats-server ${exited.map((s) => s.name).join(', ')} exited while starting:\n${exited.map((s) => s.output().slice(-1000)).join('\n')}`)
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}
