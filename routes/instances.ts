import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  CreateInstanceParams,
  CreateInstanceResult,
  DeleteInstanceResult,
  GetHistoryParams,
  GetHistoryResult,
  GetInstanceParams,
  GetInstanceResult,
  InstanceParams,
  ListInstancesParams,
  ListInstancesResult,
  SnapshotInstanceResult,
} from '../protocol/schemas.js'
import type { RoutePluginOptions } from './context.js'
import { problems } from './problem.js'
import { BEARER, IdempotencyHeader, IfNoneMatchHeader, NotModified, asParam, bodyParams, dispatch, etagMatches, mergeHeader, pick, run, withExamples } from './support.js'

export const InstancePath = Type.Object({ id: asParam(InstanceParams.properties.instance_id) })
const EmptyBody = withExamples(Type.Object({}, { description: 'no body needed; an empty body is accepted' }), {
  empty: { summary: 'no options', value: {} },
})

function location (id: string): string {
  return `/v1/instances/${encodeURIComponent(id)}`
}

/** Instances: CREATE_INSTANCE, LIST_INSTANCES, GET_INSTANCE (also at an offset), GET_HISTORY, DELETE_INSTANCE, SNAPSHOT_INSTANCE. */
export const instanceRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { ctx }) => {
  app.post('/v1/instances', {
    config: { op: 'CREATE_INSTANCE' },
    schema: {
      operationId: 'createInstance',
      summary: 'Create an instance (CREATE_INSTANCE)',
      tags: ['instances'],
      security: BEARER,
      headers: IdempotencyHeader,
      body: withExamples(CreateInstanceParams, {
        named: { summary: 'an instance with its own id and context', value: { machine: 'order', version: 1, instance_id: 'order-1', initial_ctx: { amount: 5 } } },
        generated: { summary: 'the server generates the id', value: { machine: 'order', version: 1 } },
      }),
      response: {
        200: { ...CreateInstanceResult, description: 'idempotent replay: the original result' },
        201: { ...CreateInstanceResult, description: 'created; Location names the instance' },
        ...problems(400, 401, [404, 'MACHINE_NOT_FOUND'], [409, 'INSTANCE_EXISTS'], 413, 415, [422, 'CONFLICT'], 500, 503),
      },
    },
  }, async (request, reply) => {
    const params = bodyParams(request)
    mergeHeader(params, 'idempotency_key', 'Idempotency-Key', request.headers['idempotency-key'])
    const { result, replayed } = await run(ctx, reply, 'CREATE_INSTANCE', params)
    reply.header('location', location(result.instance_id))
    return await reply.code(replayed === true ? 200 : 201).send(result)
  })

  app.get('/v1/instances', {
    config: { op: 'LIST_INSTANCES' },
    schema: {
      operationId: 'listInstances',
      summary: 'List instances (LIST_INSTANCES), by offset or keyset cursor',
      tags: ['instances'],
      security: BEARER,
      querystring: pick(ListInstancesParams, ['machine', 'state', 'limit', 'offset', 'after']),
      response: { 200: ListInstancesResult, ...problems(400, 401, 500, 503) },
    },
  }, async (request, reply) => await dispatch(ctx, reply, 'LIST_INSTANCES', { ...request.query }))

  app.get('/v1/instances/:id', {
    config: { op: 'GET_INSTANCE' },
    schema: {
      operationId: 'getInstance',
      summary: 'Get an instance (GET_INSTANCE), now or as it was right after a WAL offset; ETag is the last_wal_offset shown',
      description: 'With `at_offset`, the instance as it was right after that offset. The ETag is then the ' +
        'last_wal_offset of that past state, which names it for good: it equals the current ETag only while nothing has changed the instance since.',
      tags: ['instances'],
      security: BEARER,
      params: InstancePath,
      querystring: pick(GetInstanceParams, ['at_offset']),
      headers: IfNoneMatchHeader,
      response: { 200: GetInstanceResult, ...NotModified, ...problems(400, 401, [404, 'INSTANCE_NOT_FOUND'], 500, 503) },
    },
  }, async (request, reply) => {
    const result = await dispatch(ctx, reply, 'GET_INSTANCE', { instance_id: request.params.id, at_offset: request.query.at_offset })
    if (etagMatches(request, reply, `"${result.last_wal_offset}"`)) return await reply.code(304).send()
    return result
  })

  app.get('/v1/instances/:id/history', {
    config: { op: 'GET_HISTORY' },
    schema: {
      operationId: 'getInstanceHistory',
      summary: 'What happened to an instance (GET_HISTORY): its committed entries, paged either way',
      tags: ['instances'],
      security: BEARER,
      params: InstancePath,
      querystring: pick(GetHistoryParams, ['from_offset', 'limit', 'reverse']),
      response: { 200: GetHistoryResult, ...problems(400, 401, [404, 'INSTANCE_NOT_FOUND'], 500, 503) },
    },
  }, async (request, reply) => await dispatch(ctx, reply, 'GET_HISTORY', { instance_id: request.params.id, ...request.query }))

  app.delete('/v1/instances/:id', {
    config: { op: 'DELETE_INSTANCE' },
    schema: {
      operationId: 'deleteInstance',
      summary: 'Delete an instance (DELETE_INSTANCE); its id is never reused',
      tags: ['instances'],
      security: BEARER,
      params: InstancePath,
      headers: IdempotencyHeader,
      response: { 200: DeleteInstanceResult, ...problems(400, 401, [404, 'INSTANCE_NOT_FOUND'], [422, 'CONFLICT'], 500, 503) },
    },
  }, async (request, reply) => {
    const params = { instance_id: request.params.id, idempotency_key: request.headers['idempotency-key'] }
    return await dispatch(ctx, reply, 'DELETE_INSTANCE', params)
  })

  app.post('/v1/instances/:id/snapshot', {
    config: { op: 'SNAPSHOT_INSTANCE' },
    schema: {
      operationId: 'snapshotInstance',
      summary: 'Write a snapshot file of one instance (SNAPSHOT_INSTANCE)',
      tags: ['instances'],
      security: BEARER,
      params: InstancePath,
      body: EmptyBody,
      response: { 200: SnapshotInstanceResult, ...problems(400, 401, [404, 'INSTANCE_NOT_FOUND'], 413, 415, 500, 503) },
    },
  }, async (request, reply) => {
    bodyParams(request, true)
    return await dispatch(ctx, reply, 'SNAPSHOT_INSTANCE', { instance_id: request.params.id })
  })
}
