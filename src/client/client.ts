import type { Static } from '@sinclair/typebox'
import { formatAddress } from '../../protocol/address.js'
import { RcpError } from '../../protocol/errors.js'
import type { ResponseMeta } from '../../protocol/schemas/envelopes.js'
import { OP_NAMES, type OpInput, type OpName, type OpResult } from '../../protocol/schemas/registry.js'
import { openConnection, type Connection } from './connection.js'
import { ClientError } from './errors.js'
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js'
import { Watch, type AnyWatchEvent, type WatchControl, type WatchEvent, type WatchHost, type WatchOp } from './watch.js'

/**
 * The rstmdb client (the Node SDK): typed requests over one pipelined connection,
 * watches as async iterators, failover over a list of servers, and reconnects that
 * resume every watch without a gap or a duplicate (README "SDK").
 */

export interface RequestOptions {
  /** overrides the client's requestTimeoutMs; 0: no timeout */
  timeoutMs?: number
  /** echoed as meta.trace_id */
  traceId?: string
}

/** A response's result with its meta (rcp.md §4.2): wal_offset, server_time, trace_id. */
export interface Reply<K extends OpName> {
  result: OpResult<K>
  meta: Static<typeof ResponseMeta>
}

/** `APPLY_EVENT` → `applyEvent` */
type Camel<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Lowercase<Head>}${Capitalize<Camel<Tail>>}` : Lowercase<S>

/** what a watch yields: lifecycle events too when it asked for them (history.md §6a) */
type EventsOf<P> = P extends { include_lifecycle: true } ? AnyWatchEvent : WatchEvent

/** HELLO belongs to connecting; watches have methods of their own */
type MethodOp = Exclude<OpName, 'HELLO' | WatchOp>
const NOT_METHODS: readonly OpName[] = ['HELLO', 'WATCH_ALL', 'WATCH_INSTANCE']

type OpMethod<K extends OpName> = {} extends OpInput<K>
  ? (params?: OpInput<K>, options?: RequestOptions) => Promise<OpResult<K>>
  : (params: OpInput<K>, options?: RequestOptions) => Promise<OpResult<K>>

/** One typed method per operation: `client.applyEvent({...})` is `client.request('APPLY_EVENT', {...})`. */
export type OpMethods = { [K in MethodOp as Camel<K>]: OpMethod<K> }

const closedError = (): ClientError => new ClientError('CONNECTION_FAILED', 'client is closed')

// the methods are made from the op list at the end of this module; this tells TypeScript they exist
export interface Client extends OpMethods {}

export class Client {
  readonly #options: ResolvedOptions
  #conn: Connection | null = null
  #connecting: Promise<Connection> | null = null
  #everConnected = false
  #closed = false
  /** where the next connect starts in the server list */
  #serverIndex = 0
  #wake: (() => void) | null = null
  readonly #watches = new Set<WatchControl>()
  readonly #host: WatchHost

  /** Checks the options (ClientError INVALID_ARGUMENT); connects on connect() or the first request. */
  constructor (options: ClientOptions = {}) {
    const resolved = this.#options = resolveOptions(options)
    this.#host = {
      connection: () => this.#connection(),
      resumes: resolved.reconnect !== null,
      queueLimit: resolved.watchQueueLimit,
      requestTimeoutMs: resolved.requestTimeoutMs,
      release: (watch) => { this.#watches.delete(watch) },
    }
  }

  /** `new Client(options)` and connect(). */
  static async connect (options: ClientOptions = {}): Promise<Client> {
    const client = new Client(options)
    await client.connect()
    return client
  }

  /**
   * Connects to the first server that answers, in list order (each is tried once), and
   * completes HELLO and AUTH. Rejects with ClientError, or RcpError when HELLO or AUTH is refused.
   */
  async connect (): Promise<void> {
    if (this.#closed) throw closedError()
    if (this.#conn !== null) return
    await (this.#connecting ??= this.#establish(1))
  }

  /** `host:port` of the server the client is connected to, or null */
  get server (): string | null {
    return this.#conn === null ? null : formatAddress(this.#conn.address)
  }

  get connected (): boolean {
    return this.#conn !== null
  }

  /** The result of `op`; rejects with RcpError (the server's answer) or ClientError. */
  request<K extends OpName> (op: K, params?: OpInput<K>, options?: RequestOptions): Promise<OpResult<K>> {
    return this.#send(op, params ?? {}, false, options)
  }

  /** Like request(), with the response's meta (wal_offset, server_time, trace_id). */
  requestWithMeta<K extends OpName> (op: K, params?: OpInput<K>, options?: RequestOptions): Promise<Reply<K>> {
    return this.#send(op, params ?? {}, true, options)
  }

  /**
   * Events of every instance, filtered (WATCH_ALL). The subscription starts now; iterate it with
   * for-await. With `include_lifecycle: true` it also yields creations and deletions.
   */
  watchAll<P extends OpInput<'WATCH_ALL'>> (params?: P): Watch<'WATCH_ALL', EventsOf<P>> {
    return this.#watch('WATCH_ALL', params ?? {})
  }

  /** Events of one instance (WATCH_INSTANCE); with `include_lifecycle: true` also its deletion. */
  watchInstance<P extends OpInput<'WATCH_INSTANCE'>> (params: P): Watch<'WATCH_INSTANCE', EventsOf<P>> {
    return this.#watch('WATCH_INSTANCE', params)
  }

  /** BYE (its outcome is ignored), then close. Watches end; nothing reconnects. */
  async close (): Promise<void> {
    const conn = this.#conn
    this.#shutDown()
    if (conn === null) return
    await conn.send('BYE', {}, false, this.#options.requestTimeoutMs).catch(() => {})
    conn.destroy()
  }

  /** Drops the connection at once: in-flight requests reject, watches end, nothing reconnects. */
  destroy (): void {
    const conn = this.#conn
    this.#shutDown()
    conn?.destroy(new ClientError('CONNECTION_FAILED', 'client closed'))
  }

  #send (op: OpName, params: object, whole: boolean, options: RequestOptions | undefined): Promise<any> {
    const timeout = options?.timeoutMs ?? this.#options.requestTimeoutMs
    const traceId = options?.traceId
    if (this.#closed) return Promise.reject(closedError())
    const conn = this.#conn
    if (op === 'BYE') {
      // the server closes after BYE: that drop is not one to recover from
      this.#shutDown()
      return conn === null ? Promise.reject(closedError()) : conn.send(op, params, whole, timeout, traceId)
    }
    if (conn !== null) return conn.send(op, params, whole, timeout, traceId)
    return this.#sendLater(op, params, whole, timeout, traceId)
  }

  async #sendLater (op: OpName, params: object, whole: boolean, timeout: number, traceId: string | undefined): Promise<any> {
    const conn = await this.#connection()
    return await conn.send(op, params, whole, timeout, traceId)
  }

  #watch<K extends WatchOp, E extends AnyWatchEvent> (op: K, params: OpInput<K>): Watch<K, E> {
    const watch = new Watch<K, E>(this.#host, op, params)
    if (!this.#closed) this.#watches.add(watch)
    return watch
  }

  /** The connection to use: the current one, the one being made, or a new one (the first connect, or a reconnect). */
  #connection (): Connection | Promise<Connection> {
    if (this.#conn !== null) return this.#conn
    if (this.#closed) return Promise.reject(closedError())
    if (this.#connecting !== null) return this.#connecting
    const policy = this.#options.reconnect
    if (this.#everConnected && policy === null) return Promise.reject(new ClientError('CONNECTION_FAILED', 'not connected'))
    this.#connecting = this.#establish(this.#everConnected && policy !== null ? policy.attempts : 1)
    return this.#connecting
  }

  async #establish (rounds: number): Promise<Connection> {
    try {
      const conn = await this.#tryServers(rounds)
      if (this.#closed) {
        conn.destroy()
        throw closedError()
      }
      this.#conn = conn
      this.#everConnected = true
      conn.onClose(err => this.#dropped(conn, err))
      return conn
    } finally {
      this.#connecting = null
    }
  }

  /** Every server in turn, from #serverIndex, for `rounds` rounds with a growing pause between rounds. */
  async #tryServers (rounds: number): Promise<Connection> {
    const { servers, reconnect } = this.#options
    let last: Error = closedError()
    for (let round = 0; round < rounds; round++) {
      if (round > 0 && reconnect !== null) await this.#pause(Math.min(reconnect.maxDelayMs, reconnect.delayMs * 2 ** (round - 1)))
      for (let i = 0; i < servers.length; i++) {
        if (this.#closed) throw closedError()
        const index = (this.#serverIndex + i) % servers.length
        try {
          const conn = await openConnection(servers[index], this.#options)
          this.#serverIndex = index
          return conn
        } catch (err) {
          // HELLO or AUTH refused: every server would say the same
          if (err instanceof RcpError) throw err
          last = err as Error
        }
      }
    }
    throw last
  }

  #pause (ms: number): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(resolve, ms)
      this.#wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  #dropped (conn: Connection, err: ClientError): void {
    if (this.#conn === conn) this.#conn = null
    // fail over: the next connect starts with the server after this one
    const { servers } = this.#options
    const at = servers.findIndex(s => s.host === conn.address.host && s.port === conn.address.port)
    this.#serverIndex = (at + 1) % servers.length
    for (const watch of [...this.#watches]) watch.connectionLost(conn, err)
  }

  #shutDown (): void {
    this.#closed = true
    this.#conn = null
    this.#wake?.()
    for (const watch of [...this.#watches]) watch.end()
  }
}

function methodName (op: string): string {
  return op.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
}

for (const op of OP_NAMES) {
  if (NOT_METHODS.includes(op)) continue
  Object.defineProperty(Client.prototype, methodName(op), {
    value: function (this: Client, params?: object, options?: RequestOptions) {
      return this.request(op, params as OpInput<typeof op>, options)
    },
    writable: true,
    configurable: true,
  })
}
