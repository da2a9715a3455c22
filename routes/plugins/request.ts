import fp from 'fastify-plugin'
import { RcpError } from '../../protocol/errors.js'
import { Type, type TObject } from '@sinclair/typebox'
import { fitsNameBytes, isOpName, MIN_OFFSET_OPS } from '../../protocol/schemas.js'
import { MinOffsetHeader } from '../support.js'
import type { AppContext } from '../context.js'
import { loggableUrl } from '../problem.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the RCP op a route runs, for metrics */
    op?: string
    /** the only route where If-Match means something */
    ifMatch?: boolean
  }
}

/**
 * What every request gets (http.md): X-Request-Id, X-Trace-Id echoed, X-Wal-Offset,
 * 503 while recovering (config.md §3), one log line and the metrics of its op.
 * Hooks are callback-style: an async hook costs a promise and a microtask per request.
 */
export const requestPlugin = fp<{ ctx: AppContext }>(async (app, { ctx }) => {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    const trace = request.headers['x-trace-id']
    if (typeof trace === 'string') {
      if (!fitsNameBytes(trace)) return done(new RcpError('BAD_REQUEST', 'X-Trace-Id must be at most 256 bytes', { field: 'x-trace-id' }))
      reply.header('x-trace-id', trace)
    }
    if (ctx.state() === 'recovering' && request.routeOptions.url?.startsWith('/v1/') === true) {
      return done(new RcpError('WAL_IO_ERROR', 'recovering'))
    }
    done()
  })

  app.addHook('onSend', (_request, reply, payload, done) => {
    if (!reply.hasHeader('x-wal-offset')) reply.header('x-wal-offset', ctx.services()?.head() ?? 0)
    done(null, payload)
  })

  app.addHook('onResponse', (request, reply, done) => {
    // an upgrade refused before the WebSocket opened (401, 503): the socket is ours to end once answered
    if (request.headers.upgrade !== undefined && !request.ws) request.raw.socket.end()
    const { op, stream } = request.routeOptions.config
    // an opened stream (WebSocket, SSE) is a subscription, not a request: only refusals count
    const opened = request.ws || (stream === true && reply.statusCode === 200)
    if (op !== undefined && !opened) ctx.hooks.request(op, request.errorCode, reply.elapsedTime / 1000)
    // one line per request only at debug: at info a busy gateway would log every call, and
    // below debug the line is not even built (its URL scan and object cost every request)
    if (request.log.level === 'debug' || request.log.level === 'trace') {
      request.log.debug({
        method: request.method,
        url: loggableUrl(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 1000) / 1000,
      }, 'request completed')
    }
    done()
  })
}, { name: 'rstmdb-request' })

/** If-Match is refused wherever it would be silently ignored (http.md "Headers that map to RCP params"). */
export const ifMatchPlugin = fp(async (app) => {
  app.addHook('onRequest', (request, _reply, done) => {
    // the header first: routeOptions builds a new object on every read
    if (request.headers['if-match'] === undefined) return done()
    const { config, url } = request.routeOptions
    if (config.ifMatch !== true && url?.startsWith('/v1/') === true) {
      return done(new RcpError('BAD_REQUEST', 'If-Match is only supported on POST /v1/instances/{id}/events', { field: 'if-match' }))
    }
    done()
  })
}, { name: 'rstmdb-if-match' })

/**
 * X-Min-Wal-Offset on every read route (cluster.md §4): declared on each route whose op takes
 * `min_offset`, so it is validated and documented like any header; `run` hands it to the op.
 */
export const minOffsetPlugin = fp(async (app) => {
  app.addHook('onRoute', (route) => {
    const op = route.config?.op
    if (!isOpName(op) || !MIN_OFFSET_OPS.has(op)) return
    const declared = (route.schema?.headers as TObject | undefined)?.properties ?? {}
    route.schema = { ...route.schema, headers: Type.Object({ ...declared, ...MinOffsetHeader.properties }) }
  })
}, { name: 'rstmdb-min-offset' })
