import net from 'node:net'
import tls from 'node:tls'
import type { Address } from '../../protocol/address.js'
import { createMessageDecoder, encodeMessage, parseMessage, type WireMode } from '../../protocol/codec.js'
import { RcpError } from '../../protocol/errors.js'
import { PROTOCOL_VERSION } from '../../protocol/identity.js'
import { ClientError, serverError, socketReason } from './errors.js'
import type { ResolvedOptions, TlsOptions } from './options.js'

/**
 * One handshaken RCP connection (rcp.md §2–4): requests pipelined and matched by id,
 * subscription output routed by subscription_id. It never reconnects; the client does.
 */

export type Message = Record<string, unknown>

/** What a subscription hears on its connection (rcp.md §10). */
export interface SubscriptionListener {
  /** runs as the subscribe response is read, before any later message of the same chunk */
  subscribed: (result: Message) => void
  event: (message: Message) => void
  end: (message: Message) => void
}

export interface Connection {
  readonly address: Address
  readonly closed: boolean
  /**
   * Sends one request. Resolves with its result, or with `{ result, meta }` when `whole`;
   * rejects with RcpError (server) or ClientError. `timeoutMs` 0: no timeout.
   */
  send: (op: string, params: object, whole: boolean, timeoutMs: number, traceId?: string, listener?: SubscriptionListener) => Promise<any>
  /** stops routing a subscription's output (its UNWATCH, if any, is the caller's) */
  forget: (subscriptionId: string) => void
  /** runs once, when the socket has closed, with the error in-flight requests got */
  onClose: (handler: (err: ClientError) => void) => void
  destroy: (reason?: ClientError) => void
}

interface Pending {
  op: string
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  whole: boolean
  /** Date.now() after which the request times out; 0: never */
  deadline: number
  timeoutMs: number
  listener: SubscriptionListener | undefined
}

const HELLO_FEATURES = ['idempotency', 'batch']

function openSocket (address: Address, options: ResolvedOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const { host, port } = address
    let socket: net.Socket
    let connectEvent: string
    if (options.tls !== undefined) {
      const t: TlsOptions = options.tls
      const name = t.serverName ?? host
      socket = tls.connect({
        host,
        port,
        // SNI carries host names only (RFC 6066); the certificate is still checked against `name`
        servername: net.isIP(name) === 0 ? name : undefined,
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        rejectUnauthorized: t.insecure !== true,
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
      })
      connectEvent = 'secureConnect'
    } else {
      socket = net.connect({ host, port })
      connectEvent = 'connect'
    }
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new ClientError('TIMEOUT', `connect timed out after ${options.connectTimeoutMs / 1000}s`))
    }, options.connectTimeoutMs)
    const onError = (err: Error): void => {
      clearTimeout(timer)
      reject(new ClientError('CONNECTION_FAILED', socketReason(err)))
    }
    socket.once('error', onError)
    socket.once(connectEvent, () => {
      clearTimeout(timer)
      socket.off('error', onError)
      socket.setNoDelay(true)
      socket.setKeepAlive(true)
      resolve(socket)
    })
  })
}

function attach (socket: net.Socket, address: Address, options: ResolvedOptions): Connection {
  const mode: WireMode = options.wireMode === 'jsonl' ? 'jsonl' : 'binary'
  const trace = options.trace
  const decoder = createMessageDecoder()
  const pending = new Map<string, Pending>()
  const subscriptions = new Map<string, SubscriptionListener>()
  let closeHandler: ((err: ClientError) => void) | null = null
  let nextId = 1
  let closed = false
  let failure: ClientError | null = null
  let corked = false
  let sweeper: NodeJS.Timeout | null = null

  function fail (err: ClientError): void {
    failure ??= err
    socket.destroy()
  }

  // One timer per connection, not per request: it runs only while requests with a deadline are pending.
  const sweepEvery = Math.min(1000, Math.max(10, Math.floor(options.requestTimeoutMs / 10)))
  function sweep (): void {
    const now = Date.now()
    let waiting = false
    for (const [id, entry] of pending) {
      if (entry.deadline === 0) continue
      if (entry.deadline > now) {
        waiting = true
        continue
      }
      pending.delete(id)
      entry.reject(new ClientError('TIMEOUT', `${entry.op} timed out after ${entry.timeoutMs / 1000}s`))
    }
    if (!waiting && sweeper !== null) {
      clearInterval(sweeper)
      sweeper = null
    }
  }

  function settle (message: Message): void {
    const id = message.id
    const entry = typeof id === 'string' ? pending.get(id) : undefined
    if (entry === undefined) return
    pending.delete(id as string)
    const result = message.result
    if (message.status === 'ok' && typeof result === 'object' && result !== null && !Array.isArray(result)) {
      const listener = entry.listener
      const sid = (result as Message).subscription_id
      if (listener !== undefined && typeof sid === 'string') {
        subscriptions.set(sid, listener)
        listener.subscribed(result as Message)
      }
      entry.resolve(entry.whole ? { result, meta: message.meta } : result)
    } else if (message.status === 'error') {
      entry.reject(serverError(message.error))
    } else {
      entry.reject(new ClientError('PROTOCOL_ERROR', `malformed response to ${entry.op}`))
    }
  }

  // responses by id, subscription output by subscription_id (rcp.md §4.3); unknown types are skipped
  function receive (_mode: WireMode, payload: Buffer): void {
    if (failure !== null) return
    let message: Message
    try {
      message = parseMessage(payload)
    } catch (err) {
      fail(new ClientError('PROTOCOL_ERROR', `unreadable message from server: ${(err as Error).message}`))
      return
    }
    trace?.('received', message)
    const type = message.type
    if (type === 'response') {
      settle(message)
    } else if (type === 'event' || type === 'subscription_end') {
      const sid = message.subscription_id
      const listener = typeof sid === 'string' ? subscriptions.get(sid) : undefined
      if (listener === undefined) return
      if (type === 'event') {
        listener.event(message)
      } else {
        subscriptions.delete(sid as string)
        listener.end(message)
      }
    }
  }

  socket.on('data', (chunk: Buffer) => {
    const fatal = decoder.push(chunk, receive)
    if (fatal !== null) fail(new ClientError('PROTOCOL_ERROR', `unreadable data from server (${fatal})`))
  })
  socket.on('error', (err) => { failure ??= new ClientError('CONNECTION_FAILED', `connection lost: ${socketReason(err)}`) })
  socket.on('close', () => {
    closed = true
    if (sweeper !== null) clearInterval(sweeper)
    failure ??= new ClientError('CONNECTION_FAILED', 'connection closed by server')
    for (const entry of pending.values()) entry.reject(failure)
    pending.clear()
    subscriptions.clear()
    closeHandler?.(failure)
  })

  // requests made in one turn leave in one write
  const uncork = (): void => {
    corked = false
    socket.uncork()
  }

  return {
    address,
    get closed () { return closed },
    send (op, params, whole, timeoutMs, traceId, listener) {
      return new Promise((resolve, reject) => {
        if (closed || failure !== null) {
          reject(failure ?? new ClientError('CONNECTION_FAILED', 'not connected'))
          return
        }
        const id = String(nextId++)
        const message: Message = traceId === undefined
          ? { type: 'request', id, op, params }
          : { type: 'request', id, op, params, trace_id: traceId }
        let frame: Buffer
        try {
          frame = encodeMessage(message, mode)
        } catch (err) {
          const why = err instanceof RcpError ? 'it exceeds the 16 MiB message limit' : (err as Error).message
          reject(new ClientError('INVALID_ARGUMENT', `cannot send ${op}: ${why}`))
          return
        }
        const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : 0
        pending.set(id, { op, resolve, reject, whole, deadline, timeoutMs, listener })
        if (deadline > 0 && sweeper === null) {
          sweeper = setInterval(sweep, sweepEvery)
          sweeper.unref()
        }
        trace?.('sent', message)
        if (!corked) {
          corked = true
          socket.cork()
          process.nextTick(uncork)
        }
        socket.write(frame)
      })
    },
    forget (subscriptionId) {
      subscriptions.delete(subscriptionId)
    },
    onClose (handler) {
      if (closed) handler(failure as ClientError)
      else closeHandler = handler
    },
    destroy (reason) {
      fail(reason ?? new ClientError('CONNECTION_FAILED', 'connection closed'))
    },
  }
}

/**
 * Opens a socket to `address`, then HELLO and (with a token) AUTH. Rejects with
 * ClientError (network, timeout, unreadable reply) or RcpError (HELLO/AUTH refused),
 * leaving no socket open.
 */
export async function openConnection (address: Address, options: ResolvedOptions): Promise<Connection> {
  const conn = attach(await openSocket(address, options), address, options)
  const timeout = options.requestTimeoutMs
  try {
    await conn.send('HELLO', {
      protocol_version: PROTOCOL_VERSION,
      client_name: options.clientName,
      wire_modes: [options.wireMode],
      features: HELLO_FEATURES,
    }, false, timeout)
    if (options.token !== undefined) await conn.send('AUTH', { method: 'bearer', token: options.token }, false, timeout)
  } catch (err) {
    conn.destroy()
    throw err
  }
  return conn
}
