import { parseAddress, type Address } from '../../protocol/address.js'
import { ClientError } from './errors.js'

/** What the client may be given (README "SDK"); every field has a default. */

export interface TlsOptions {
  /** PEM CA(s) replacing the system roots */
  ca?: string | Buffer | Array<string | Buffer>
  /** client certificate and key for mTLS */
  cert?: string | Buffer
  key?: string | Buffer
  /** skip the server certificate checks */
  insecure?: boolean
  /** name for SNI and the certificate check; defaults to the host of the server being connected */
  serverName?: string
}

export interface ReconnectOptions {
  /** rounds over the server list before giving up */
  attempts?: number
  /** pause after the first failed round, doubled each round */
  delayMs?: number
  maxDelayMs?: number
}

export type TraceDirection = 'sent' | 'received'

export interface ClientOptions {
  /** `host:port` or `[v6]:port`, tried in order; a failed connect or a drop moves to the next */
  servers?: string[]
  /** bearer token, sent with AUTH after HELLO */
  token?: string
  /** true: TLS with the system roots */
  tls?: boolean | TlsOptions
  /** framing of what the client sends; the client reads both (rcp.md §2.3) */
  wireMode?: 'binary_json' | 'jsonl'
  /** HELLO client_name */
  clientName?: string
  connectTimeoutMs?: number
  /** 0: requests never time out */
  requestTimeoutMs?: number
  /**
   * After a drop: connect again, HELLO, AUTH, and resume every watch where it stopped.
   * false: a drop fails in-flight requests and watches, and later requests fail until connect() is called.
   */
  reconnect?: boolean | ReconnectOptions
  /** events a watch holds for a slow consumer before it unsubscribes, to resume once the consumer catches up */
  watchQueueLimit?: number
  /** sees every message sent and received */
  trace?: (direction: TraceDirection, message: Record<string, unknown>) => void
}

export interface ResolvedOptions {
  servers: Address[]
  token: string | undefined
  tls: TlsOptions | undefined
  wireMode: 'binary_json' | 'jsonl'
  clientName: string
  connectTimeoutMs: number
  requestTimeoutMs: number
  reconnect: Required<ReconnectOptions> | null
  watchQueueLimit: number
  trace: ClientOptions['trace']
}

export const DEFAULT_SERVER = '127.0.0.1:7401'
const DEFAULT_RECONNECT: Required<ReconnectOptions> = { attempts: 10, delayMs: 100, maxDelayMs: 2000 }

function invalid (message: string): ClientError {
  return new ClientError('INVALID_ARGUMENT', message)
}

function count (value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${name} must be a non-negative integer, got ${String(value)}`)
  return value
}

/** Throws ClientError INVALID_ARGUMENT for an option that cannot work. */
export function resolveOptions (options: ClientOptions): ResolvedOptions {
  const list = options.servers ?? [DEFAULT_SERVER]
  if (list.length === 0) throw invalid('servers must list at least one address')
  const servers = list.map((text) => {
    const address = parseAddress(text)
    if (address === null) throw invalid(`invalid server address '${text}': expected host:port or [ipv6]:port`)
    return address
  })
  const wireMode = options.wireMode ?? 'binary_json'
  if (wireMode !== 'binary_json' && wireMode !== 'jsonl') throw invalid(`wireMode must be binary_json or jsonl, got '${String(wireMode)}'`)
  let reconnect: Required<ReconnectOptions> | null = null
  if (options.reconnect !== false) {
    const given = options.reconnect === true ? {} : options.reconnect ?? {}
    reconnect = {
      attempts: count(given.attempts, DEFAULT_RECONNECT.attempts, 'reconnect.attempts'),
      delayMs: count(given.delayMs, DEFAULT_RECONNECT.delayMs, 'reconnect.delayMs'),
      maxDelayMs: count(given.maxDelayMs, DEFAULT_RECONNECT.maxDelayMs, 'reconnect.maxDelayMs'),
    }
    if (reconnect.attempts === 0) throw invalid('reconnect.attempts must be at least 1; reconnect: false turns reconnecting off')
  }
  return {
    servers,
    token: options.token,
    tls: options.tls === true ? {} : options.tls === false ? undefined : options.tls,
    wireMode,
    clientName: options.clientName ?? 'rstmdb-node',
    connectTimeoutMs: count(options.connectTimeoutMs, 10_000, 'connectTimeoutMs'),
    requestTimeoutMs: count(options.requestTimeoutMs, 30_000, 'requestTimeoutMs'),
    reconnect,
    watchQueueLimit: Math.max(1, count(options.watchQueueLimit, 10_000, 'watchQueueLimit')),
    trace: options.trace,
  }
}
