import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { RcpError } from '../protocol/errors.js'
import { ApplyEventParams, ApplyEventResult, BatchParams, BatchResult } from '../protocol/schemas.js'
import type { RoutePluginOptions } from './context.js'
import { InstancePath } from './instances.js'
import { StatusError, problems } from './problem.js'
import { BEARER, IdempotencyHeader, bodyParams, dispatch, mergeHeader, parseIfMatch, withExamples } from './support.js'

const ApplyEventHeaders = Type.Object({
  ...IdempotencyHeader.properties,
  'if-match': Type.Optional(Type.String({ description: 'a strong entity tag holding a WAL offset, e.g. "42" (the instance ETag): becomes expected_wal_offset; a mismatch is 412' })),
})

/** APPLY_EVENT and BATCH. */
export const eventRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { ctx }) => {
  app.post('/v1/instances/:id/events', {
    config: { op: 'APPLY_EVENT', ifMatch: true },
    schema: {
      operationId: 'applyEvent',
      summary: 'Apply an event to an instance (APPLY_EVENT)',
      tags: ['events'],
      security: BEARER,
      params: InstancePath,
      headers: ApplyEventHeaders,
      body: withExamples(Type.Omit(ApplyEventParams, ['instance_id']), {
        pay: { summary: 'an event with a payload merged into ctx', value: { event: 'PAY', payload: { amount: 5 } } },
        expected: { summary: 'only if the instance is still in the expected state', value: { event: 'SHIP', expected_state: 'paid' } },
      }),
      response: {
        200: { ...ApplyEventResult, description: 'applied, or applied:false for an idempotent replay' },
        ...problems(400, 401, [404, 'INSTANCE_NOT_FOUND'], 409, 412, 413, 415, 422, 500, 503),
      },
    },
  }, async (request, reply) => {
    const params = bodyParams(request)
    params.instance_id = request.params.id
    const expected = parseIfMatch(request.headers['if-match'])
    mergeHeader(params, 'idempotency_key', 'Idempotency-Key', request.headers['idempotency-key'])
    mergeHeader(params, 'expected_wal_offset', 'If-Match', expected)
    try {
      return await dispatch(ctx, reply, 'APPLY_EVENT', params)
    } catch (err) {
      // the offset expectation came from If-Match: a failed precondition (http.md)
      if (expected !== undefined && err instanceof RcpError && err.code === 'CONFLICT' && 'expected_offset' in err.details) {
        throw new StatusError(err, 412)
      }
      throw err
    }
  })

  app.post('/v1/batch', {
    config: { op: 'BATCH' },
    schema: {
      operationId: 'batch',
      summary: 'Run up to 100 creates, events and deletes (BATCH), best_effort or atomic',
      tags: ['events'],
      security: BEARER,
      body: withExamples(BatchParams, {
        atomic: {
          summary: 'create and pay an order, all or nothing',
          value: { mode: 'atomic', ops: [{ op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'order-2', initial_ctx: { amount: 9 } } }, { op: 'APPLY_EVENT', params: { instance_id: 'order-2', event: 'PAY' } }] },
        },
      }),
      response: {
        200: { ...BatchResult, description: 'best_effort: always, with per-op results; atomic: when every op succeeded' },
        ...problems(400, 401, [404, 'INSTANCE_NOT_FOUND'], [409, 'INSTANCE_EXISTS'], 413, 415, 422, 500, 503),
      },
    },
  }, async (request, reply) => await dispatch(ctx, reply, 'BATCH', bodyParams(request)))
}
