import { connect } from '@nats-io/transport-node'
import type { NatsConnection } from '@nats-io/transport-node'
import { NatsConnectError } from './errors.js'

export interface NatsConnectOptions {
  /** cluster.nats_servers */
  servers: string[]
  token?: string | null
  user?: string | null
  password?: string | null
  /** path of a CA bundle to verify the servers' TLS certificates */
  tlsCa?: string | null
  /** connection name shown by the servers (monitoring) */
  name?: string
  /** bound on the first connection over all servers */
  timeoutMs?: number
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000

/** The configuration option to fix, from what the connection attempt said. */
function optionToFix (message: string): string {
  if (/authoriz|authentic|auth_?violation|credentials/i.test(message)) {
    return 'cluster.nats_token, or cluster.nats_user and cluster.nats_password'
  }
  if (/tls|certificate|ssl/i.test(message)) return 'cluster.nats_tls_ca and the servers\' TLS settings'
  return 'cluster.nats_servers (RSTMDB_NATS_SERVERS)'
}

/**
 * Connects to the NATS servers (cluster.md §5). The first connection is bounded:
 * when no server answers in time it fails with a NatsConnectError naming the
 * servers and the option to fix. Once connected, the client reconnects forever.
 */
export async function connectNats (opts: NatsConnectOptions): Promise<NatsConnection> {
  const servers = opts.servers
  if (servers.length === 0) throw new NatsConnectError(servers, 'no servers configured', optionToFix(''))
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  const attempt = connect({
    servers,
    name: opts.name,
    token: opts.token ?? undefined,
    user: opts.user ?? undefined,
    pass: opts.password ?? undefined,
    tls: opts.tlsCa != null ? { caFile: opts.tlsCa } : undefined,
    timeout: timeoutMs,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 2_000,
    maxPingOut: 3,
    // a stack trace per request costs more than a pipelined publish
    noAsyncTraces: true,
  })
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no server answered within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([attempt, expired])
  } catch (err) {
    // a connection that completes after the deadline is closed, never leaked
    attempt.then((nc) => nc.close(), () => {})
    const message = err instanceof Error ? err.message : String(err)
    throw new NatsConnectError(servers, message, optionToFix(message))
  } finally {
    clearTimeout(timer)
  }
}
