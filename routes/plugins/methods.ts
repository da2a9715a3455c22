import type { FastifyInstance } from 'fastify'
import { RcpError } from '../../protocol/errors.js'
import { StatusError } from '../problem.js'

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH'] as const

/**
 * Records every API route's methods; `answerOtherMethods` then answers the rest with 405
 * and `Allow` (RFC 9110 §15.5.6) instead of a 404 that would suggest the path is wrong.
 * OPTIONS stays with CORS preflight.
 */
export function methodRegistry (app: FastifyInstance): { answerOtherMethods: () => void } {
  const allowed = new Map<string, Set<string>>()
  let sealed = false
  app.addHook('onRoute', (route) => {
    // documented routes only: the document and Swagger UI's files are not part of the API
    if (sealed || route.url.includes('*') || route.schema?.hide === true) return
    const set = allowed.get(route.url) ?? new Set<string>()
    for (const method of [route.method].flat()) set.add(method)
    allowed.set(route.url, set)
  })
  return {
    answerOtherMethods () {
      sealed = true
      for (const [url, methods] of allowed) {
        const others = METHODS.filter(m => !methods.has(m))
        if (others.length === 0) continue
        const allow = METHODS.filter(m => methods.has(m)).join(', ')
        app.route({
          method: others,
          url,
          schema: { hide: true },
          handler: async (request, reply) => {
            reply.header('allow', allow)
            throw new StatusError(new RcpError('BAD_REQUEST', `${request.method} is not allowed on ${url}: use ${allow}`, {
              reason: 'method_not_allowed', allow: allow.split(', '),
            }), 405)
          },
        })
      }
    },
  }
}
