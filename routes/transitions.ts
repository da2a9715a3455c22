import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { GetTransitionsResult } from '../protocol/schemas.js'
import type { RoutePluginOptions } from './context.js'
import { InstancePath } from './instances.js'
import { problems } from './problem.js'
import { BEARER, IfNoneMatchHeader, NotModified, dispatch, etagMatches } from './support.js'

/** GET_TRANSITIONS (history.md §4): what an instance can do next. */
export const transitionRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { ctx }) => {
  app.get('/v1/instances/:id/transitions', {
    config: { op: 'GET_TRANSITIONS' },
    schema: {
      operationId: 'getTransitions',
      summary: 'The transitions an instance can take now, with each guard evaluated (GET_TRANSITIONS); ETag is its last_wal_offset',
      description: 'Every transition from the current state, in definition order. `guard_passes` is the guard on the current ctx ' +
        '(guards never see the payload, so none is needed; null when there is no guard); `taken` marks, per event, the ' +
        'transition APPLY_EVENT would take now. The ETag works as If-Match on the apply-event route.',
      tags: ['instances'],
      security: BEARER,
      params: InstancePath,
      headers: IfNoneMatchHeader,
      response: { 200: GetTransitionsResult, ...NotModified, ...problems(400, 401, [404, 'INSTANCE_NOT_FOUND'], 500, 503) },
    },
  }, async (request, reply) => {
    const result = await dispatch(ctx, reply, 'GET_TRANSITIONS', { instance_id: request.params.id })
    if (etagMatches(request, reply, `"${result.wal_offset}"`)) return await reply.code(304).send()
    return result
  })
}
