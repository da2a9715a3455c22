import { randomUUID } from 'node:crypto'
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import cors from '@fastify/cors'
import websocket from '@fastify/websocket'
import { MAX_MESSAGE_BYTES } from '../protocol/entries.js'
import type { AppContext } from './context.js'
import { authPlugin } from './plugins/auth.js'
import { jsonPlugin } from './plugins/json.js'
import { openapiPlugin } from './plugins/openapi.js'
import { originPlugin } from './plugins/origin.js'
import { methodRegistry } from './plugins/methods.js'
import { ifMatchPlugin, minOffsetPlugin, requestPlugin } from './plugins/request.js'
import { problemPlugin, sendProblem } from './problem.js'
import { healthRoutes } from './health.js'
import { infoRoutes } from './info.js'
import { metricsRoutes } from './metrics.js'
import { machineRoutes } from './machines.js'
import { instanceRoutes } from './instances.js'
import { eventRoutes } from './events.js'
import { transitionRoutes } from './transitions.js'
import { sseRoutes } from './sse.js'
import { walRoutes } from './wal.js'
import { createWatchHub } from './watch.js'
import { diagramRoutes } from './diagram.js'
import { consoleRoutes } from './console.js'

/** ids may be 256 bytes of UTF-8, i.e. up to 768 characters once percent-encoded */
const MAX_PARAM_LENGTH = 1024
const REQUEST_ID = /^[\w.:-]{1,128}$/

/**
 * The HTTP app (http.md), composed from plugins: problem+json, JSON handling,
 * per-request bookkeeping, auth, CORS, OpenAPI, then the routes of each resource
 * and the WebSocket watch. Listening is the server module's job.
 */
export async function buildApp (ctx: AppContext): Promise<FastifyInstance> {
  // typed as the options so the instance keeps Fastify's own logger type
  const options: FastifyServerOptions = {
    loggerInstance: ctx.logger.child({ face: 'http' }),
    // the request plugin logs each request, with the WebSocket token stripped from the URL
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: ctx.bodyLimit,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // router and id errors (414 path parameter too long, bad URL encoding) as problems too
    frameworkErrors: (err, request, reply) => { sendProblem(request, reply, err) },
  }
  const app = Fastify(options)
  const methods = methodRegistry(app)

  await app.register(problemPlugin)
  await app.register(jsonPlugin)
  await app.register(requestPlugin, { ctx })
  await app.register(originPlugin, { corsOrigins: ctx.corsOrigins })
  await app.register(authPlugin, { tokens: ctx.tokens })
  await app.register(ifMatchPlugin)
  await app.register(minOffsetPlugin)
  if (ctx.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: ctx.corsOrigins.includes('*') ? '*' : ctx.corsOrigins,
      methods: ['GET', 'PUT', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-match', 'x-min-wal-offset', 'x-request-id', 'x-trace-id'],
      exposedHeaders: ['etag', 'location', 'x-request-id', 'x-trace-id', 'x-wal-offset', 'retry-after'],
    })
  }
  await app.register(openapiPlugin)

  const hub = createWatchHub(ctx)
  await app.register(websocket, {
    options: { maxPayload: MAX_MESSAGE_BYTES },
    preClose: async () => { await hub.shutdown() },
  })
  await app.register(infoRoutes, { ctx })
  await app.register(healthRoutes, { ctx })
  await app.register(metricsRoutes, { metrics: ctx.metrics, requireAuth: ctx.metricsRequireAuth })
  for (const routes of [machineRoutes, instanceRoutes, eventRoutes, transitionRoutes, walRoutes, hub.plugin, sseRoutes, diagramRoutes, consoleRoutes]) {
    await app.register(routes, { ctx })
  }
  await app.after()
  methods.answerOtherMethods()
  return app
}
