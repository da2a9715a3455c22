import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CompactParams, CompactResult, WalReadParams, WalReadResult, WalStatsResult } from '../protocol/schemas.js'
import type { RoutePluginOptions } from './context.js'
import { problems } from './problem.js'
import { BEARER, bodyParams, dispatch, pick, withExamples } from './support.js'

/** WAL_READ, WAL_STATS and COMPACT. */
export const walRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { ctx }) => {
  app.get('/v1/wal', {
    config: { op: 'WAL_READ' },
    schema: {
      operationId: 'readWal',
      summary: 'Read committed WAL records from an offset (WAL_READ)',
      tags: ['wal'],
      security: BEARER,
      querystring: pick(WalReadParams, ['from_offset', 'limit'], ['from_offset']),
      response: { 200: WalReadResult, ...problems(400, 401, 500, 503) },
    },
  }, async (request, reply) => await dispatch(ctx, reply, 'WAL_READ', { ...request.query }))

  app.get('/v1/wal/stats', {
    config: { op: 'WAL_STATS' },
    schema: {
      operationId: 'getWalStats',
      summary: 'WAL size and I/O counters (WAL_STATS)',
      tags: ['wal'],
      security: BEARER,
      response: { 200: WalStatsResult, ...problems(401, 500, 503) },
    },
  }, async (_request, reply) => await dispatch(ctx, reply, 'WAL_STATS', {}))

  app.post('/v1/compact', {
    config: { op: 'COMPACT' },
    schema: {
      operationId: 'compact',
      summary: 'Snapshot and delete covered WAL segments (COMPACT); the body may be empty',
      tags: ['wal'],
      security: BEARER,
      body: withExamples(CompactParams, {
        default: { summary: 'snapshot if anything changed, then delete covered segments', value: {} },
        forced: { summary: 'always write a new full snapshot', value: { force_snapshot: true } },
      }),
      response: { 200: CompactResult, ...problems(400, 401, 413, 415, 500, 503) },
    },
  }, async (request, reply) => await dispatch(ctx, reply, 'COMPACT', bodyParams(request, true)))
}
