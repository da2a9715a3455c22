import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { RcpError } from '../../protocol/errors.js'
import type { TokenChecker } from '../../src/ops/auth.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** whether a bearer token is needed when auth is on: by default only under /v1/ */
    auth?: 'required' | 'none'
    /** the WebSocket route also takes the token as ?access_token= (browsers cannot set its headers) */
    accessTokenQuery?: boolean
  }
  interface FastifyRequest {
    /**
     * A WebSocket upgrade whose token was refused: the socket opens only to be closed with
     * 4401 and the reason, since a browser never sees the body of a refused upgrade.
     */
    authFailure: RcpError | null
  }
}

export interface AuthOptions {
  tokens: TokenChecker
}

function bearerHeader (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header !== undefined) return header
  if (request.routeOptions.config.accessTokenQuery !== true) return undefined
  const token = (request.query as { access_token?: unknown } | undefined)?.access_token
  return typeof token === 'string' ? `Bearer ${token}` : undefined
}

/** Bearer auth with the RCP token checker (same hashes, compared in constant time). */
function authenticate (tokens: TokenChecker, header: string | undefined): void {
  if (header === undefined) throw new RcpError('UNAUTHORIZED', 'authentication required')
  const space = header.indexOf(' ')
  const scheme = space < 0 ? header : header.slice(0, space)
  tokens.verify(scheme.toLowerCase(), space < 0 ? '' : header.slice(space + 1).trim())
}

export function isUpgrade (request: FastifyRequest): boolean {
  return request.headers.upgrade?.toLowerCase() === 'websocket'
}

function needsToken (request: FastifyRequest): boolean {
  const { config, url } = request.routeOptions
  return config.auth === undefined ? url?.startsWith('/v1/') === true : config.auth === 'required'
}

/**
 * Bearer tokens when auth.required is on (http.md "Authentication"): a missing
 * token is UNAUTHORIZED, a wrong one AUTH_FAILED, both 401 with WWW-Authenticate.
 */
export const authPlugin = fp<AuthOptions>(async (app, { tokens }) => {
  app.decorateRequest('authFailure', null)
  if (!tokens.required) return
  app.addHook('onRequest', (request, _reply, done) => {
    if (!needsToken(request)) return done()
    try {
      authenticate(tokens, bearerHeader(request))
    } catch (err) {
      if (isUpgrade(request) && err instanceof RcpError) {
        request.authFailure = err
        return done()
      }
      done(err as Error)
      return
    }
    done()
  })
}, { name: 'rstmdb-auth' })
