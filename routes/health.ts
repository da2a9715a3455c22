import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync, RouteShorthandOptionsWithHandler } from 'fastify'
import type { RoutePluginOptions } from './context.js'
import { problems } from './problem.js'

const Status = Type.Object({ status: Type.String({ examples: ['ok'] }) })
const NotReady = Type.Object({
  status: Type.Union([Type.Literal('recovering'), Type.Literal('stopping'), Type.Literal('wal_failed')]),
}, { description: 'recovering, shutting down, or the WAL is in its failed state' })

/** Liveness: the process is up. Also served by the dedicated metrics listener (config.md `metrics`). */
export const liveness = (operationId: string): RouteShorthandOptionsWithHandler => ({
  schema: { operationId, summary: 'Liveness: the process is up', tags: ['ops'], security: [], response: { 200: Status, ...problems(400) } },
  handler: async () => ({ status: 'ok' }),
})

/** Liveness and readiness (config.md §3: /readyz is 200 only once recovery finished and while the WAL is writable). */
export const healthRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app, { ctx }) => {
  app.get('/healthz', liveness('healthz'))

  app.get('/readyz', {
    schema: {
      operationId: 'readyz',
      summary: 'Readiness: recovery finished and the WAL is writable',
      tags: ['ops'],
      security: [],
      response: { 200: Status, ...problems(400), 503: NotReady },
    },
  }, async (_request, reply) => {
    const state = ctx.state()
    if (state !== 'ready') return await reply.code(503).send({ status: state })
    if (ctx.services()?.isWritable() !== true) return await reply.code(503).send({ status: 'wal_failed' })
    return { status: 'ok' }
  })
}
