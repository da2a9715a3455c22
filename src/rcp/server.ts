import net from 'node:net'
import tls from 'node:tls'
import type { Logger } from 'pino'
import type { TokenChecker } from '../ops/auth.js'
import type { SessionServices } from '../session/index.js'
import type { FaceHooks } from '../metrics.js'
import { createConnection, type Connection } from './connection.js'

export interface RcpTlsOptions {
  cert: Buffer
  key: Buffer
  /** CA(s) that client certificates must chain to (mTLS) */
  ca: Buffer | null
  requireClientCert: boolean
}

export interface RcpServerOptions {
  host: string
  port: number
  maxConnections: number
  idleTimeoutSecs: number
  tls?: RcpTlsOptions
  services: SessionServices
  tokens: TokenChecker
  logger: Logger
  /** open connections across both faces, for INFO */
  connections: () => number
  /** metrics of this face */
  hooks: FaceHooks
}

export interface RcpServer {
  readonly address: net.AddressInfo
  readonly connections: number
  /** stop accepting; finish in-flight requests; end subscriptions with the shutdown notice; close */
  close: () => Promise<void>
}

const SHUTDOWN_GRACE_MS = 5000

function tlsContext (opts: RcpTlsOptions): tls.TlsOptions {
  return {
    cert: opts.cert,
    key: opts.key,
    minVersion: 'TLSv1.2',
    requestCert: opts.requireClientCert,
    rejectUnauthorized: opts.requireClientCert,
    ca: opts.requireClientCert && opts.ca !== null ? opts.ca : undefined,
  }
}

export async function startRcpServer (opts: RcpServerOptions): Promise<RcpServer> {
  const open = new Set<Connection>()
  let nextId = 1

  function onSocket (socket: net.Socket): void {
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 30_000)
    const id = nextId++
    const connection = createConnection(socket, {
      services: opts.services,
      tokens: opts.tokens,
      logger: opts.logger.child({ conn: id, remote: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}` }),
      idleTimeoutMs: opts.idleTimeoutSecs * 1000,
      connections: opts.connections,
      onRequest: opts.hooks.request,
      onClose () {
        open.delete(connection)
        opts.hooks.closed()
      },
    })
    open.add(connection)
    opts.hooks.opened()
  }

  const server: net.Server = opts.tls !== undefined
    ? tls.createServer(tlsContext(opts.tls), onSocket)
    : net.createServer(onSocket)
  // rcp.md §1: above the limit a socket is accepted and closed at once, before any TLS
  // handshake, so nothing is written
  server.maxConnections = opts.maxConnections
  if (server instanceof tls.Server) {
    // a failed handshake (no or untrusted client certificate) only closes that socket
    server.on('tlsClientError', (err, socket) => {
      opts.logger.debug({ err: err.message }, 'TLS handshake failed')
      socket.destroy()
    })
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', err => opts.logger.error({ err }, 'RCP listener error'))

  return {
    address: server.address() as net.AddressInfo,
    get connections () { return open.size },
    async close () {
      const closed = new Promise<void>(resolve => server.close(() => resolve()))
      await Promise.all([...open].map(c => c.shutdown(SHUTDOWN_GRACE_MS)))
      await closed
    },
  }
}
