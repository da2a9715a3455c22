import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { RcpError } from '../../protocol/errors.js'
import { StatusError } from '../problem.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** a stream of events (WebSocket, SSE): browsers may open it only from an allowed origin */
    stream?: boolean
  }
}

export interface OriginOptions {
  /** http.cors_origins: origins allowed besides the gateway's own ('*' allows any) */
  corsOrigins: string[]
}

/** The page's origin is the gateway's own: same host and port (the scheme may differ behind a TLS proxy). */
function sameOrigin (origin: string, request: FastifyRequest): boolean {
  try {
    return new URL(origin).host === request.headers.host
  } catch {
    return false
  }
}

/**
 * Cross-site WebSocket hijacking guard: a browser sends `Origin` with every WebSocket and
 * EventSource request, and with the default settings (auth off) any page the user visits
 * could otherwise read every event. Requests without `Origin` (CLI tools, servers) pass.
 */
export const originPlugin = fp<OriginOptions>(async (app, { corsOrigins }) => {
  const listed = new Set(corsOrigins)
  app.addHook('onRequest', (request, _reply, done) => {
    const origin = request.headers.origin
    // the header first: routeOptions builds a new object on every read
    if (origin === undefined || request.routeOptions.config.stream !== true) return done()
    if (listed.has('*') || listed.has(origin) || sameOrigin(origin, request)) return done()
    done(new StatusError(new RcpError('UNAUTHORIZED', `origin '${origin}' may not open this stream: serve the page from the gateway or list it in http.cors_origins`, {
      reason: 'origin_not_allowed', origin,
    }), 403))
  })
}, { name: 'rstmdb-origin' })
