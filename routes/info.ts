import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { InfoResult } from '../protocol/schemas.js'
import type { RoutePluginOptions } from './context.js'
import { problems } from './problem.js'
import { BEARER, dispatch } from './support.js'

/** INFO. */
export const infoRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { ctx }) => {
  app.get('/v1/info', {
    config: { op: 'INFO' },
    schema: {
      operationId: 'getInfo',
      summary: 'Server identity, limits and counters (INFO)',
      tags: ['ops'],
      security: BEARER,
      response: { 200: InfoResult, ...problems(401, 500, 503) },
    },
  }, async (_request, reply) => await dispatch(ctx, reply, 'INFO', {}))
}
