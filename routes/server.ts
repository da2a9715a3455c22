import type { IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { TokenChecker } from '../src/ops/auth.js'
import type { FaceHooks, MetricsText } from '../src/metrics.js'
import { buildApp } from './app.js'
import type { HttpServices, HttpState } from './context.js'

export interface HttpServerOptions {
  host: string
  port: number
  bodyLimit: number
  corsOrigins: string[]
  tokens: TokenChecker
  metrics: MetricsText
  metricsRequireAuth: boolean
  hooks: FaceHooks
  logger: Logger
  /** open connections across both faces, for INFO */
  connections: () => number
  pingIntervalMs?: number
  ssePingIntervalMs?: number
}

export interface HttpServer {
  readonly address: AddressInfo
  /** recovery finished: routes can reach the database (still 503 until ready) */
  attach: (services: HttpServices) => void
  /** every route serves; /readyz turns 200 */
  ready: () => void
  /** /readyz turns 503, stop accepting, finish in-flight requests, end subscriptions, close WebSockets with 1001 */
  close: () => Promise<void>
}

const PING_INTERVAL_MS = 30_000
const SSE_PING_INTERVAL_MS = 15_000

/**
 * Node's server.close() waits for connections that never carried a request (a browser's
 * preconnect, a client pool's spare) until their client uses one, only for Fastify to refuse
 * that request with 503, which a browser's EventSource takes as final. Once closing starts they
 * are dropped, as new connections are: clients see a network error, and retry elsewhen.
 */
function dropUnusedConnectionsOnClose (app: FastifyInstance): void {
  const unused = new Set<Socket>()
  let closing = false
  app.server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy()
      return
    }
    unused.add(socket)
    socket.once('close', () => unused.delete(socket))
  })
  // upgraded sockets never emit 'request'; the WebSocket hub has closed them by the time this hook runs
  // (its preClose was registered first). An 'upgrade' listener would also keep Node from refusing upgrades
  // once the WebSocket plugin has removed its own.
  app.server.on('request', (request: IncomingMessage) => { unused.delete(request.socket as Socket) })
  app.addHook('preClose', (done) => {
    closing = true
    for (const socket of unused) socket.destroy()
    done()
  })
}

/**
 * Listens with the HTTP app. It binds before recovery and serves only health,
 * metrics and the document until `ready()` (config.md §3).
 */
export async function startHttpServer (opts: HttpServerOptions): Promise<HttpServer> {
  let state: HttpState = 'recovering'
  let services: HttpServices | null = null
  const app = await buildApp({
    logger: opts.logger,
    bodyLimit: opts.bodyLimit,
    corsOrigins: opts.corsOrigins,
    tokens: opts.tokens,
    services: () => services,
    state: () => state,
    metrics: opts.metrics,
    metricsRequireAuth: opts.metricsRequireAuth,
    hooks: opts.hooks,
    connections: opts.connections,
    pingIntervalMs: opts.pingIntervalMs ?? PING_INTERVAL_MS,
    ssePingIntervalMs: opts.ssePingIntervalMs ?? SSE_PING_INTERVAL_MS,
  })
  app.server.on('connection', (socket: Socket) => {
    opts.hooks.opened()
    socket.once('close', opts.hooks.closed)
  })
  dropUnusedConnectionsOnClose(app)
  await app.listen({ host: opts.host, port: opts.port })
  return {
    address: app.server.address() as AddressInfo,
    attach (s) { services = s },
    ready () { state = 'ready' },
    async close () {
      state = 'stopping'
      await app.close()
    },
  }
}
