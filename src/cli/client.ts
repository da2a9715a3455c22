import net from 'node:net'
import tls from 'node:tls'
import { createMessageDecoder, encodeMessage, parseMessage, type WireMode } from '../../protocol/codec.js'
import type { JsonObject } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
import { PROTOCOL_VERSION } from '../../protocol/identity.js'
import { isJsonObject } from '../../protocol/validate.js'
import { ClientError, ConnectError, serverError } from './errors.js'

/** The RCP client of rstmdb-cli (cli.md §1, rcp.md §3–4). */

export const CONNECT_TIMEOUT_MS = 10_000
export const REQUEST_TIMEOUT_MS = 30_000

export interface TlsOptions {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  insecure: boolean
  /** SNI and certificate check name; defaults to the host */
  serverName?: string
}

export interface ClientOptions {
  host: string
  port: number
  tls?: TlsOptions
  token?: string
  wireMode: WireMode
  /** sees every message sent and received (`--verbose`) */
  trace?: (direction: 'sent' | 'received', message: JsonObject) => void
}

/** What a subscription hears: its events and its end notice (rcp.md §10). */
export interface SubscriptionListener {
  event: (message: JsonObject) => void
  end: (message: JsonObject) => void
}

export interface RcpClient {
  /** the result of a successful response; rejects with RcpError (server) or ClientError */
  request: (op: string, params?: JsonObject) => Promise<JsonObject>
  /**
   * WATCH_INSTANCE / WATCH_ALL. The listener is attached as the response is read, before
   * any later message of the same chunk, so the first events are never missed.
   */
  watch: (op: 'WATCH_INSTANCE' | 'WATCH_ALL', params: JsonObject, listener: SubscriptionListener) => Promise<JsonObject>
  /** called once when the socket closes, whoever closed it */
  onClose: (handler: () => void) => void
  readonly closed: boolean
  /** BYE (its outcome is ignored), then close */
  close: () => Promise<void>
  destroy: () => void
}

interface Pending {
  op: string
  resolve: (result: JsonObject) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
  listener?: SubscriptionListener
}

/** One line: OpenSSL messages carry a code dump and a newline, their `reason` is the useful part. */
function socketReason (err: Error & { reason?: unknown }): string {
  if (typeof err.reason === 'string' && err.reason !== '') return `TLS error: ${err.reason}`
  return err.message.replace(/\s+/g, ' ').trim()
}

function openSocket (options: ClientOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const { host, port } = options
    let socket: net.Socket
    let connectEvent: string
    if (options.tls !== undefined) {
      const t = options.tls
      const name = t.serverName ?? host
      socket = tls.connect({
        host,
        port,
        // SNI carries host names only (RFC 6066); the certificate is still checked against `name`
        servername: net.isIP(name) === 0 ? name : undefined,
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        rejectUnauthorized: !t.insecure,
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
      })
      connectEvent = 'secureConnect'
    } else {
      socket = net.connect({ host, port })
      connectEvent = 'connect'
    }
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new ClientError('TIMEOUT', `connect timed out after ${CONNECT_TIMEOUT_MS / 1000}s`))
    }, CONNECT_TIMEOUT_MS)
    const onError = (err: Error): void => {
      clearTimeout(timer)
      reject(new ClientError('CONNECTION_FAILED', socketReason(err)))
    }
    socket.once('error', onError)
    socket.once(connectEvent, () => {
      clearTimeout(timer)
      socket.off('error', onError)
      socket.setNoDelay(true)
      resolve(socket)
    })
  })
}

function attach (socket: net.Socket, options: ClientOptions): RcpClient {
  const mode = options.wireMode
  const decoder = createMessageDecoder()
  const pending = new Map<string, Pending>()
  const subscriptions = new Map<string, SubscriptionListener>()
  const closeHandlers: Array<() => void> = []
  let nextId = 1
  let closed = false
  let failure: ClientError | null = null

  function fail (err: ClientError): void {
    failure ??= err
    socket.destroy()
  }

  function settle (message: JsonObject): void {
    const id = message.id
    const entry = typeof id === 'string' ? pending.get(id) : undefined
    if (entry === undefined) return
    pending.delete(id as string)
    clearTimeout(entry.timer)
    if (message.status === 'ok' && isJsonObject(message.result)) {
      if (entry.listener !== undefined && typeof message.result.subscription_id === 'string') {
        subscriptions.set(message.result.subscription_id, entry.listener)
      }
      entry.resolve(message.result)
    } else if (message.status === 'error') {
      entry.reject(serverError(message.error))
    } else {
      entry.reject(new ClientError('PROTOCOL_ERROR', `malformed response to ${entry.op}`))
    }
  }

  // Responses are matched by id, subscription output by subscription_id (rcp.md §4.3); unknown types are skipped.
  function receive (message: JsonObject): void {
    options.trace?.('received', message)
    if (message.type === 'response') {
      settle(message)
    } else if (message.type === 'event' || message.type === 'subscription_end') {
      const id = message.subscription_id
      const listener = typeof id === 'string' ? subscriptions.get(id) : undefined
      if (listener === undefined) return
      if (message.type === 'event') {
        listener.event(message)
      } else {
        subscriptions.delete(id as string)
        listener.end(message)
      }
    }
  }

  socket.on('data', (chunk: Buffer) => {
    const fatal = decoder.push(chunk, (_mode, payload) => {
      if (failure !== null) return
      let message: JsonObject
      try {
        message = parseMessage(payload)
      } catch (err) {
        fail(new ClientError('PROTOCOL_ERROR', `unreadable message from server: ${(err as Error).message}`))
        return
      }
      receive(message)
    })
    if (fatal !== null) fail(new ClientError('PROTOCOL_ERROR', `unreadable data from server (${fatal})`))
  })
  socket.on('error', (err) => { failure ??= new ClientError('CONNECTION_FAILED', `connection lost: ${socketReason(err)}`) })
  socket.on('close', () => {
    closed = true
    const err = failure ?? new ClientError('CONNECTION_FAILED', 'connection closed by server')
    for (const entry of pending.values()) {
      clearTimeout(entry.timer)
      entry.reject(err)
    }
    pending.clear()
    subscriptions.clear()
    for (const handler of closeHandlers.splice(0)) handler()
  })

  function send (op: string, params: JsonObject, listener?: SubscriptionListener): Promise<JsonObject> {
    return new Promise((resolve, reject) => {
      if (closed || socket.destroyed) {
        reject(new ClientError('CONNECTION_FAILED', 'not connected'))
        return
      }
      const id = String(nextId++)
      const message = { type: 'request', id, op, params }
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new ClientError('TIMEOUT', `${op} timed out after ${REQUEST_TIMEOUT_MS / 1000}s`))
      }, REQUEST_TIMEOUT_MS)
      pending.set(id, { op, resolve, reject, timer, listener })
      options.trace?.('sent', message)
      socket.write(encodeMessage(message, mode))
    })
  }

  return {
    request: (op, params = {}) => send(op, params),
    watch: (op, params, listener) => send(op, params, listener),
    onClose (handler) {
      if (closed) handler()
      else closeHandlers.push(handler)
    },
    get closed () { return closed },
    async close () {
      if (closed) return
      await send('BYE', {}).catch(() => {})
      socket.end()
      socket.destroy()
    },
    destroy () { socket.destroy() },
  }
}

/**
 * Connect, HELLO, then AUTH when a token is set. Any failure on the way is a ConnectError
 * (`Connection failed: …`) and leaves no socket open.
 */
export async function connect (options: ClientOptions): Promise<RcpClient> {
  let socket: net.Socket
  try {
    socket = await openSocket(options)
  } catch (err) {
    throw new ConnectError(err as ClientError)
  }
  const client = attach(socket, options)
  try {
    await client.request('HELLO', {
      protocol_version: PROTOCOL_VERSION,
      client_name: 'rstmdb-cli',
      wire_modes: [options.wireMode === 'jsonl' ? 'jsonl' : 'binary_json'],
      features: ['idempotency', 'batch'],
    })
    if (options.token !== undefined) await client.request('AUTH', { method: 'bearer', token: options.token })
  } catch (err) {
    client.destroy()
    throw new ConnectError(err as ClientError | RcpError)
  }
  return client
}
