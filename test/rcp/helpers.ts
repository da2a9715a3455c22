import net from 'node:net'
import { removeDir, startServer, type RunningServer, type StartOptions } from '../support/server.js'
import { connect, type ConnectOptions, type TestClient } from '../support/rcp-client.js'

/** The tap object's teardown, the only part these helpers need. */
interface Teardown { teardown: (fn: () => unknown) => void }

/** One real server for a test file (or subtest), stopped and removed at teardown. */
export async function serverFor (t: Teardown, opts: StartOptions = {}): Promise<RunningServer> {
  const server = await startServer(opts)
  t.teardown(async () => {
    await server.stop('SIGKILL')
    removeDir(server.dataDir)
  })
  return server
}

/** A connected client closed at teardown. */
export async function clientFor (t: Teardown, server: RunningServer, opts: Omit<ConnectOptions, 'port'> = {}): Promise<TestClient> {
  const client = await connect({ port: server.rcpPort, ...opts })
  t.teardown(() => client.close())
  return client
}

/** A raw socket that records every byte it receives and whether the server closed it. */
export interface RawConnection {
  socket: net.Socket
  received: () => Buffer
  closed: Promise<void>
}

export async function rawConnect (port: number): Promise<RawConnection> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s))
    s.once('error', reject)
  })
  socket.on('error', () => {})
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))
  return { socket, received: () => Buffer.concat(chunks), closed }
}

/** Resolves true when `p` settles within `ms`, false otherwise (to tell "closed" from "still open"). */
export async function within (p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([
    p.then(() => true, () => true),
    new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), ms) }),
  ])
  clearTimeout(timer)
  return result
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** The error body of an error response (throws on success so a test sees what came back). */
export function errorOf (response: any): { code: string, message: string, retryable: boolean, details?: any } {
  if (response.status !== 'error') throw new Error(`expected an error, got ${JSON.stringify(response)}`)
  return response.error
}

export function resultOf (response: any): any {
  if (response.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(response)}`)
  return response.result
}

export { ORDER } from '../support/machines.js'
