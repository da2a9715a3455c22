import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync, RouteShorthandOptionsWithHandler } from 'fastify'
import type { RoutePluginOptions } from './context.js'
import { problems } from './problem.js'

const Status = Type.Object({ status: Type.String({ examples: ['ok'] }) })
const NotReady = Type.Object({
  status: Type.Union(['recovering', 'stopping', 'wal_failed', 'catching_up', 'nats_disconnected'].map((s) => Type.Literal(s))),
}, { description: 'recovering, shutting down, the WAL is in its failed state; in cluster mode also: still catching up with the stream, or cut off from NATS' })

/** Liveness: the process is up. Also served by the dedicated metrics listener (config.md `metrics`). */
export const liveness = (operationId: string): RouteShorthandOptionsWithHandler => ({
  schema: { operationId, summary: 'Liveness: the process is up', tags: ['ops'], security: [], response: { 200: Status, ...problems(400) } },
  handler: async () => ({ status: 'ok' }),
})

/**
 * Liveness and readiness (config.md §3: /readyz is 200 only once recovery finished and while
 * the WAL is writable; cluster.md §4: once the node has caught up with the stream, and while
 * it is connected to NATS, since a node cut off can serve only reads that grow stale).
 */
export const healthRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app, { ctx }) => {
  app.get('/healthz', liveness('healthz'))

  app.get('/readyz', {
    schema: {
      operationId: 'readyz',
      summary: 'Readiness: recovery finished and the WAL is writable (cluster: caught up and connected to NATS)',
      tags: ['ops'],
      security: [],
      response: { 200: Status, ...problems(400), 503: NotReady },
    },
  }, async (_request, reply) => {
    const state = ctx.state()
    if (state !== 'ready') return await reply.code(503).send({ status: state })
    const readiness = ctx.services()?.readiness() ?? 'recovering'
    if (readiness !== 'ok') return await reply.code(503).send({ status: readiness })
    return { status: 'ok' }
  })
}
