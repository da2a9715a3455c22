import net from 'node:net'
import tls from 'node:tls'
import { createMessageDecoder, encodeMessage, type WireMode } from '../../protocol/codec.js'
import { crc32c } from '../../protocol/crc32c.js'
import type { RunningServer } from './server.js'
import type { Teardown } from './temp-dir.js'

/**
 * Raw access to the wire, for the tests that are about it (framing, handshake, hostile
 * input, end notice flags, envelope fields, what the server writes when). Everything
 * else talks to the server through the SDK (./client.ts).
 */

export interface Received {
  mode: WireMode
  message: any
  /** frame header flags; 0 for a JSONL line */
  flags: number
}

export interface RawClient {
  socket: net.Socket
  /** every message received, in order, parsed, with its framing and flags */
  messages: Received[]
  /** sends one request and resolves with the whole response of that id */
  request: (op: string, params?: unknown, extra?: Record<string, unknown>) => Promise<any>
  /** writes a message object in the given framing (default: the client's) without waiting */
  send: (message: unknown, mode?: WireMode) => void
  /** writes bytes as they are */
  raw: (bytes: Buffer | string) => void
  /** resolves when a received message satisfies the predicate (checks earlier ones too) */
  waitFor: (predicate: (message: any) => boolean, timeoutMs?: number) => Promise<any>
  events: (subscriptionId?: string) => any[]
  closed: Promise<void>
  close: () => void
  mode: WireMode
}

export interface RawClientOptions {
  mode?: WireMode
  tls?: tls.ConnectionOptions
  /** send HELLO (and AUTH with `token`) first; default true */
  hello?: boolean
  token?: string
  /** wire_modes of the HELLO (default: the client's mode) */
  wireModes?: string[]
}

export interface RawFrameOptions {
  magic?: string
  version?: number
  flags?: number
  /** header extension bytes */
  extension?: Buffer
  /** overrides the CRC field */
  crc?: number
  /** overrides the payload_len field */
  payloadLen?: number
}

/** A binary frame with any header field overridden, for framing tests. */
export function rawFrame (payload: Buffer | string, o: RawFrameOptions = {}): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  const ext = o.extension ?? Buffer.alloc(0)
  const flags = o.flags ?? 1
  const header = Buffer.alloc(18)
  header.write(o.magic ?? 'RCPX', 0, 'latin1')
  header.writeUInt16BE(o.version ?? 1, 4)
  header.writeUInt16BE(flags, 6)
  header.writeUInt16BE(ext.length, 8)
  header.writeUInt32BE(o.payloadLen ?? body.length, 10)
  header.writeUInt32BE(o.crc ?? ((flags & 1) !== 0 ? crc32c(body) : 0), 14)
  return Buffer.concat([header, ext, body])
}

let nextId = 1

/** A fresh request id, unique within the test process. */
export function newId (): string {
  return String(nextId++)
}

function openSocket (port: number, options?: tls.ConnectionOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = options !== undefined
      ? tls.connect({ host: '127.0.0.1', port, ...options }, () => resolve(s))
      : net.connect({ host: '127.0.0.1', port }, () => resolve(s))
    s.once('error', reject)
  })
}

export async function connectRaw (port: number, opts: RawClientOptions = {}): Promise<RawClient> {
  const mode: WireMode = opts.mode ?? 'binary'
  const socket = await openSocket(port, opts.tls)
  socket.on('error', () => {})
  const messages: Received[] = []
  const waiters: Array<{ predicate: (m: any) => boolean, resolve: (m: any) => void }> = []
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))

  const decoder = createMessageDecoder()
  socket.on('data', (chunk: Buffer) => {
    const fault = decoder.push(chunk, (m, payload, flags) => {
      const message = JSON.parse(payload.toString('utf8'))
      messages.push({ mode: m, message, flags })
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i].predicate(message)) {
          waiters[i].resolve(message)
          waiters.splice(i, 1)
        }
      }
    })
    // the server's output must always decode: a fault here fails the test that waits on it
    if (fault !== null) socket.destroy(new Error(`server output does not decode: ${fault}`))
  })

  function waitFor (predicate: (m: any) => boolean, timeoutMs = 10_000): Promise<any> {
    const seen = messages.find(m => predicate(m.message))
    if (seen !== undefined) return Promise.resolve(seen.message)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs)
      const entry = { predicate, resolve: (m: any) => { clearTimeout(timer); resolve(m) } }
      waiters.push(entry)
      closed.then(() => {
        const i = waiters.indexOf(entry)
        if (i >= 0) {
          waiters.splice(i, 1)
          clearTimeout(timer)
          reject(new Error('connection closed'))
        }
      }, () => {})
    })
  }

  function send (message: unknown, m: WireMode = mode): void {
    socket.write(encodeMessage(message as object, m))
  }

  const client: RawClient = {
    socket,
    messages,
    mode,
    send,
    raw: bytes => socket.write(bytes),
    request (op, params, extra = {}) {
      const id = newId()
      const response = waitFor(m => m.type === 'response' && m.id === id)
      send({ type: 'request', id, op, ...(params === undefined ? {} : { params }), ...extra })
      return response
    },
    waitFor,
    events: (sid) => messages.map(m => m.message).filter(m => m.type === 'event' && (sid === undefined || m.subscription_id === sid)),
    closed,
    close: () => socket.destroy(),
  }

  if (opts.hello !== false) {
    const hello = await client.request('HELLO', {
      protocol_version: 1,
      client_name: 'rstmdb-test',
      wire_modes: opts.wireModes ?? [mode === 'binary' ? 'binary_json' : 'jsonl'],
    })
    if (hello.status !== 'ok') throw new Error(`HELLO failed: ${JSON.stringify(hello)}`)
    if (opts.token !== undefined) {
      const auth = await client.request('AUTH', { method: 'bearer', token: opts.token })
      if (auth.status !== 'ok') throw new Error(`AUTH failed: ${JSON.stringify(auth)}`)
    }
  }
  return client
}

/** A raw client of `server`, closed at teardown. */
export async function rawClientFor (t: Teardown, server: RunningServer, opts: RawClientOptions = {}): Promise<RawClient> {
  const client = await connectRaw(server.rcpPort, opts)
  t.teardown(() => client.close())
  return client
}

/** A socket that records every byte it receives and whether the server closed it. */
export interface RawConnection {
  socket: net.Socket
  received: () => Buffer
  closed: Promise<void>
}

export async function rawConnect (port: number, options?: tls.ConnectionOptions): Promise<RawConnection> {
  const socket = await openSocket(port, options)
  socket.on('error', () => {})
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))
  return { socket, received: () => Buffer.concat(chunks), closed }
}
