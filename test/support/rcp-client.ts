import net from 'node:net'
import tls from 'node:tls'
import { encodeMessage, type WireMode } from '../../protocol/codec.js'
import { crc32c } from '../../protocol/crc32c.js'

/** A test-only RCP client: raw access to the wire plus request/response helpers. */
export interface TestClient {
  socket: net.Socket
  /** every message received, in order, parsed; with its inbound framing and, for frames, its flags */
  messages: Array<{ mode: WireMode, message: any, flags?: number }>
  /** sends one request in `mode` (default: the client's mode) and resolves with the response of that id */
  request: (op: string, params?: unknown, extra?: Record<string, unknown>) => Promise<any>
  /** writes a message object in the given framing without waiting */
  send: (message: unknown, mode?: WireMode) => void
  raw: (bytes: Buffer | string) => void
  /** resolves when a received message satisfies the predicate (checks earlier ones too) */
  waitFor: (predicate: (message: any) => boolean, timeoutMs?: number) => Promise<any>
  events: (subscriptionId?: string) => any[]
  closed: Promise<void>
  close: () => void
  mode: WireMode
}

export interface ConnectOptions {
  port: number
  mode?: WireMode
  tls?: tls.ConnectionOptions
  /** send HELLO (and AUTH with this token) first */
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

/** A fresh request id, unique within the test process. */
export function newId (): string {
  return String(nextId++)
}

let nextId = 1

export async function connect (opts: ConnectOptions): Promise<TestClient> {
  const mode: WireMode = opts.mode ?? 'binary'
  const socket: net.Socket = await new Promise((resolve, reject) => {
    const s = opts.tls !== undefined
      ? tls.connect({ host: '127.0.0.1', port: opts.port, ...opts.tls }, () => resolve(s))
      : net.connect({ host: '127.0.0.1', port: opts.port }, () => resolve(s))
    s.once('error', reject)
  })
  socket.on('error', () => {})
  const messages: Array<{ mode: WireMode, message: any, flags?: number }> = []
  const waiters: Array<{ predicate: (m: any) => boolean, resolve: (m: any) => void }> = []
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))

  // an independent reader of server output (not the server's own decoder), so the tests check the wire
  let pending: Buffer = Buffer.alloc(0)
  function deliver (m: WireMode, text: string, flags?: number): void {
    const message = JSON.parse(text)
    messages.push({ mode: m, message, flags })
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].predicate(message)) {
        waiters[i].resolve(message)
        waiters.splice(i, 1)
      }
    }
  }
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    for (;;) {
      if (pending.length === 0) return
      if (pending[0] === 0x52) {
        if (pending.length < 18) return
        const len = pending.readUInt32BE(10)
        const ext = pending.readUInt16BE(8)
        if (pending.length < 18 + ext + len) return
        const payload = pending.subarray(18 + ext, 18 + ext + len)
        const flags = pending.readUInt16BE(6)
        if ((flags & 1) !== 0 && crc32c(payload) !== pending.readUInt32BE(14)) throw new Error('server sent a bad CRC')
        pending = pending.subarray(18 + ext + len)
        deliver('binary', payload.toString('utf8'), flags)
      } else {
        const nl = pending.indexOf(0x0a)
        if (nl < 0) return
        const line = pending.subarray(0, nl).toString('utf8')
        pending = pending.subarray(nl + 1)
        deliver('jsonl', line)
      }
    }
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

  const client: TestClient = {
    socket,
    messages,
    mode,
    send,
    raw: bytes => socket.write(bytes),
    request (op, params, extra = {}) {
      const id = String(nextId++)
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

/** The common order machine used across tests. */
export const ORDER_MACHINE = {
  states: ['created', 'paid', 'shipped', 'delivered', 'cancelled'],
  initial: 'created',
  transitions: [
    { from: 'created', event: 'PAY', to: 'paid' },
    { from: 'paid', event: 'SHIP', to: 'shipped', guard: 'ctx.blocked != true' },
    { from: 'shipped', event: 'DELIVER', to: 'delivered' },
    { from: ['created', 'paid'], event: 'CANCEL', to: 'cancelled' },
  ],
}
