import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { MetricsText } from '../src/metrics.js'
import { problems } from './problem.js'
import { BEARER } from './support.js'

export interface MetricsRouteOptions {
  metrics: MetricsText
  /** metrics.require_auth: a bearer token when auth is required */
  requireAuth: boolean
}

/** GET /metrics (Prometheus text format): on the gateway and on the dedicated metrics listener alike. */
export const metricsRoutes: FastifyPluginAsync<MetricsRouteOptions> = async (app, { metrics, requireAuth }) => {
  app.get('/metrics', {
    config: { auth: requireAuth ? 'required' : 'none' },
    schema: {
      operationId: 'metrics',
      summary: 'Prometheus metrics of both faces (text format)',
      tags: ['ops'],
      // a token is needed only when metrics.require_auth is on
      security: [{}, ...BEARER],
      response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: Type.String() } } }, ...problems(400, 401) },
    },
  }, async (_request, reply) => {
    reply.type(metrics.contentType)
    return await metrics.render()
  })
}
