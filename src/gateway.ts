import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import cors from '@fastify/cors'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import websocket from '@fastify/websocket'
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import { RcpError } from '../protocol/errors.js'
import { fitsNameBytes } from '../protocol/schemas.js'
import { MAX_MESSAGE_BYTES } from '../protocol/entries.js'
import { SERVER_VERSION } from '../protocol/identity.js'
import type { Logger } from './logger.js'
import type { TokenChecker } from './ops/auth.js'
import type { Metrics } from './metrics.js'
import type { GatewayContext, GatewayServices, GatewayState } from '../routes/context.js'
import { PROBLEM_SCHEMA_ID, PROBLEM_TYPE, Problem, classify, problemOf } from '../routes/problem.js'
import { machineRoutes } from '../routes/machines.js'
import { instanceRoutes } from '../routes/instances.js'
import { eventRoutes } from '../routes/events.js'
import { walRoutes } from '../routes/wal.js'
import { opsRoutes } from '../routes/ops.js'
import { createWatchHub } from '../routes/watch.js'
import { diagramRoutes } from '../routes/diagram.js'
import { consoleRoutes } from '../routes/console.js'

/**
 * The HTTP gateway (http.md): REST over the shared dispatcher, the WebSocket
 * watch over the shared bus, OpenAPI, health and metrics. It binds before
 * recovery and serves only health, metrics and the document until `ready()`
 * (config.md §3).
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the RCP op a route runs, for metrics */
    op?: string
    /** no bearer token needed */
    public?: boolean
    /** the only route where If-Match means something */
    ifMatch?: boolean
    /** the WebSocket route also takes the token as ?access_token= */
    accessTokenQuery?: boolean
  }
  interface FastifyRequest {
    /** RCP code of the error answered, for metrics */
    errorCode: string | null
  }
}

export interface GatewayOptions {
  host: string
  port: number
  bodyLimit: number
  corsOrigins: string[]
  tokens: TokenChecker
  metrics: Metrics
  metricsRequireAuth: boolean
  logger: Logger
  /** open connections of the other face (RCP), for INFO */
  otherConnections: () => number
  pingIntervalMs?: number
}

export interface Gateway {
  readonly address: AddressInfo
  /** open HTTP connections, WebSockets included */
  readonly connections: number
  /** recovery finished: routes can reach the dispatcher and the bus (still 503 until ready) */
  attach: (services: GatewayServices) => void
  /** every route serves; /readyz turns 200 */
  ready: () => void
  /** /readyz turns 503, stop accepting, finish in-flight requests, end subscriptions, close WebSockets with 1001 */
  close: () => Promise<void>
}

const PING_INTERVAL_MS = 30_000
/** ids may be 256 bytes of UTF-8, i.e. up to 768 characters once percent-encoded */
const MAX_PARAM_LENGTH = 1024
const REQUEST_ID = /^[\w.:-]{1,128}$/

/** Fields of the query string never to log: browsers send the WebSocket token there. */
function loggableUrl (url: string): string {
  return url.replace(/([?&]access_token=)[^&]*/g, '$1[redacted]')
}

function bearerToken (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header !== undefined) return header
  if (request.routeOptions.config.accessTokenQuery !== true) return undefined
  const token = (request.query as { access_token?: unknown } | undefined)?.access_token
  return typeof token === 'string' ? `Bearer ${token}` : undefined
}

/** Bearer auth with the RCP token checker (same hashes, constant-time). */
function authenticate (tokens: TokenChecker, header: string | undefined): void {
  if (header === undefined) throw new RcpError('UNAUTHORIZED', 'authentication required')
  const space = header.indexOf(' ')
  const scheme = space < 0 ? header : header.slice(0, space)
  tokens.verify(scheme.toLowerCase(), space < 0 ? '' : header.slice(space + 1).trim())
}

function sendProblem (request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const { error, status } = classify(err)
  request.errorCode = error.code
  if (status >= 500) request.log.error({ err }, 'request failed')
  if (status === 401) reply.header('www-authenticate', error.code === 'AUTH_FAILED' ? 'Bearer error="invalid_token"' : 'Bearer')
  if (status === 429) reply.header('retry-after', '1')
  return reply.code(status).type(PROBLEM_TYPE).send(problemOf(error, status))
}

/** Builds the Fastify app with every route; `listen` is the caller's. */
export async function buildGateway (opts: Pick<GatewayOptions, 'bodyLimit' | 'corsOrigins' | 'logger'>, ctx: GatewayContext): Promise<FastifyInstance> {
  const fastifyOptions: FastifyServerOptions = {
    loggerInstance: opts.logger.child({ face: 'http' }),
    // our onResponse hook logs each request, with the WebSocket token stripped from the URL
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: opts.bodyLimit,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // router and id errors (414 path parameter too long, bad URL encoding) as problems too
    frameworkErrors: (err, request, reply) => { sendProblem(request, reply, err) },
  }
  const app = Fastify(fastifyOptions)
  app.decorateRequest('errorCode', null)
  app.addSchema({ ...Problem, $id: PROBLEM_SCHEMA_ID })

  // Bodies are validated by the dispatcher with the protocol's own schemas, never coerced
  // ("version":"1" is a 400 as on RCP); path, query and headers are strings converted to their schema types.
  app.setValidatorCompiler((route) => route.httpPart === 'body' ? (value: unknown) => ({ value }) : TypeBoxValidatorCompiler(route as Parameters<typeof TypeBoxValidatorCompiler>[0]))
  // a success body is the RCP result itself: nothing dropped or coerced by a schema-driven serializer
  app.setSerializerCompiler(() => (data: unknown) => JSON.stringify(data))

  app.removeContentTypeParser(['application/json', 'text/plain'])
  // plain JSON.parse, as RCP parses: a "__proto__" key is ordinary data on both faces (the engine never
  // assigns keys onto existing objects), not a reason to call a valid JSON body invalid
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    // routes with an optional body (snapshot, compact) accept an empty one
    if (body === '') return done(null, undefined)
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(new RcpError('BAD_REQUEST', 'request body is not valid JSON', { reason: 'invalid_json' }), undefined)
    }
  })

  app.setErrorHandler((err, request, reply) => sendProblem(request, reply, err))
  app.setNotFoundHandler((request, reply) => sendProblem(request, reply,
    new RcpError('NOT_FOUND', `no route for ${request.method} ${loggableUrl(request.url.split('?')[0])}`)))

  // hooks are callback-style: an async hook costs a promise and a microtask per request on the hot path
  app.addHook('onRequest', (request, reply, done) => {
    try {
      checkRequest(request, reply)
    } catch (err) {
      done(err as Error)
      return
    }
    done()
  })

  function checkRequest (request: FastifyRequest, reply: FastifyReply): void {
    reply.header('x-request-id', request.id)
    const config = request.routeOptions.config
    const url = request.routeOptions.url ?? ''
    const trace = request.headers['x-trace-id']
    if (typeof trace === 'string') {
      if (!fitsNameBytes(trace)) throw new RcpError('BAD_REQUEST', 'X-Trace-Id must be at most 256 bytes', { field: 'x-trace-id' })
      reply.header('x-trace-id', trace)
    }
    if (url.startsWith('/v1/') && ctx.state() === 'recovering') throw new RcpError('WAL_IO_ERROR', 'recovering')
    const isProtected = url.startsWith('/v1/') || (url === '/metrics' && config.public !== true)
    if (isProtected && ctx.tokens.required) authenticate(ctx.tokens, bearerToken(request))
    if (request.headers['if-match'] !== undefined && config.ifMatch !== true && url.startsWith('/v1/')) {
      throw new RcpError('BAD_REQUEST', 'If-Match is only supported on POST /v1/instances/{id}/events', { field: 'if-match' })
    }
  }

  app.addHook('onSend', (_request, reply, payload, done) => {
    if (!reply.hasHeader('x-wal-offset')) reply.header('x-wal-offset', ctx.services()?.dispatcher.head() ?? 0)
    done(null, payload)
  })

  app.addHook('onResponse', (request, reply, done) => {
    // an upgrade refused before the WebSocket plugin saw it (401, 503): the socket is ours to end
    if (request.headers.upgrade !== undefined && !request.ws) (request.raw.socket as Socket & { destroySoon: () => void }).destroySoon()
    const op = request.routeOptions.config.op
    if (op !== undefined && !request.ws) ctx.metrics.request('http', op, request.errorCode, reply.elapsedTime / 1000)
    request.log.info({
      method: request.method,
      url: loggableUrl(request.url),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 1000) / 1000,
    }, 'request completed')
    done()
  })

  if (opts.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: opts.corsOrigins.includes('*') ? '*' : opts.corsOrigins,
      methods: ['GET', 'PUT', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-match', 'x-request-id', 'x-trace-id'],
      exposedHeaders: ['etag', 'location', 'x-request-id', 'x-trace-id', 'x-wal-offset', 'retry-after'],
    })
  }

  await app.register(swagger, {
    // shared schemas keep their $id as their component name (components.schemas.Problem)
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'rstmdb HTTP gateway',
        version: SERVER_VERSION,
        description: 'REST and WebSocket face of rstmdb, a state machine database. Every route runs the RCP operation ' +
          'named in its summary; bodies and results use the RCP field names; errors are application/problem+json.',
      },
      tags: [
        { name: 'machines', description: 'state machine definitions' },
        { name: 'instances', description: 'instances of a machine' },
        { name: 'events', description: 'events and batches' },
        { name: 'wal', description: 'write-ahead log and compaction' },
        { name: 'watch', description: 'WebSocket subscriptions' },
        { name: 'ops', description: 'info, health and metrics' },
      ],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  const hub = createWatchHub(ctx)
  await app.register(websocket, {
    options: { maxPayload: MAX_MESSAGE_BYTES },
    preClose: async () => { await hub.shutdown() },
  })
  for (const plugin of [opsRoutes, machineRoutes, instanceRoutes, eventRoutes, walRoutes, hub.plugin, diagramRoutes, consoleRoutes]) {
    await app.register(plugin, { ctx })
  }

  let documentJson: string | null = null
  const document = (): string => (documentJson ??= openapiText(app))
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    return await reply.type('application/json').send(document())
  })
  app.get('/openapi.yaml', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    return await reply.type('application/yaml').send(app.swagger({ yaml: true }))
  })
  return app
}

/** The document exactly as /openapi.json serves it and openapi/openapi.json stores it. */
export function openapiText (app: FastifyInstance): string {
  return `${JSON.stringify(app.swagger(), null, 2)}\n`
}

export async function startGateway (opts: GatewayOptions): Promise<Gateway> {
  let state: GatewayState = 'recovering'
  let services: GatewayServices | null = null
  const sockets = new Set<Socket>()
  const ctx: GatewayContext = {
    services: () => services,
    state: () => state,
    tokens: opts.tokens,
    metrics: opts.metrics,
    metricsRequireAuth: opts.metricsRequireAuth,
    connectionCount: () => sockets.size + opts.otherConnections(),
    pingIntervalMs: opts.pingIntervalMs ?? PING_INTERVAL_MS,
  }
  const app = await buildGateway(opts, ctx)
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    opts.metrics.connectionOpened('http')
    socket.once('close', () => {
      sockets.delete(socket)
      opts.metrics.connectionClosed('http')
    })
  })
  await app.listen({ host: opts.host, port: opts.port })
  return {
    address: app.server.address() as AddressInfo,
    get connections () { return sockets.size },
    attach (s) { services = s },
    ready () { state = 'ready' },
    async close () {
      state = 'stopping'
      await app.close()
    },
  }
}

export interface MetricsListenerOptions {
  host: string
  port: number
  metrics: Metrics
  tokens: TokenChecker
  /** metrics.require_auth: a bearer token when auth is required */
  requireAuth: boolean
  logger: Logger
}

export interface MetricsListener {
  readonly address: AddressInfo
  close: () => Promise<void>
}

/** The dedicated listener of `metrics.enabled`: GET /metrics, /health and /healthz (config.md `metrics`). */
export async function startMetricsListener (opts: MetricsListenerOptions): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const answer = (status: number, type: string, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': type, ...headers }).end(req.method === 'HEAD' ? undefined : body)
    }
    const problem = (error: RcpError, status: number, headers: Record<string, string> = {}): void =>
      answer(status, PROBLEM_TYPE, JSON.stringify(problemOf(error, status)), headers)
    if (req.method !== 'GET' && req.method !== 'HEAD') return problem(new RcpError('NOT_FOUND', `no route for ${req.method ?? ''} ${path}`), 404)
    if (path === '/health' || path === '/healthz') return answer(200, 'application/json', '{"status":"ok"}')
    if (path !== '/metrics') return problem(new RcpError('NOT_FOUND', `no route for GET ${path}`), 404)
    if (opts.requireAuth && opts.tokens.required) {
      try {
        authenticate(opts.tokens, req.headers.authorization)
      } catch (err) {
        const { error } = classify(err)
        return problem(error, 401, { 'www-authenticate': 'Bearer' })
      }
    }
    opts.metrics.render().then(text => answer(200, opts.metrics.contentType, text), err => {
      opts.logger.error({ err }, 'metrics rendering failed')
      problem(new RcpError('INTERNAL_ERROR', 'internal error'), 500)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    address: server.address() as AddressInfo,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
