import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { RcpError } from '../protocol/errors.js'
import {
  GetMachineResult,
  ListMachinesResult,
  PutMachineParams,
  PutMachineResult,
  ValidateMachineResult,
  Definition,
} from '../protocol/schemas.js'
import type { RoutePluginOptions } from './context.js'
import { problems } from './problem.js'
import { BEARER, IfNoneMatchHeader, NotModified, asParam, dispatch, etagMatches, pick, withExamples } from './support.js'

const MachinePath = pick(PutMachineParams, ['machine'], ['machine'])
const VersionPath = pick(PutMachineParams, ['machine', 'version'], ['machine', 'version'])
export const VersionOrLatestPath = Type.Object({
  machine: asParam(PutMachineParams.properties.machine),
  version: Type.Union([asParam(PutMachineParams.properties.version), Type.Literal('latest')], { description: 'a version number or `latest`' }),
})
const ORDER = { states: ['created', 'paid', 'shipped', 'cancelled'], initial: 'created', transitions: [{ from: 'created', event: 'PAY', to: 'paid', guard: 'ctx.amount > 0' }, { from: 'paid', event: 'SHIP', to: 'shipped' }, { from: ['created', 'paid'], event: 'CANCEL', to: 'cancelled' }] }
const DefinitionBody = withExamples(Definition, {
  order: { summary: 'an order lifecycle with a guard', value: ORDER },
})

const MachineSummary = Type.Object({
  machine: PutMachineParams.properties.machine,
  versions: ListMachinesResult.properties.items.items.properties.versions,
  latest: PutMachineParams.properties.version,
})

/** Machine definitions: LIST_MACHINES, GET_MACHINE, PUT_MACHINE, VALIDATE_MACHINE. */
export const machineRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { ctx }) => {
  app.get('/v1/machines', {
    config: { op: 'LIST_MACHINES' },
    schema: {
      operationId: 'listMachines',
      summary: 'List machines and their versions',
      tags: ['machines'],
      security: BEARER,
      response: { 200: ListMachinesResult, ...problems(401, 500, 503) },
    },
  }, async (_request, reply) => await dispatch(ctx, reply, 'LIST_MACHINES', {}))

  app.get('/v1/machines/:machine', {
    config: { op: 'LIST_MACHINES' },
    schema: {
      operationId: 'getMachine',
      summary: 'Versions of one machine',
      tags: ['machines'],
      security: BEARER,
      params: MachinePath,
      response: { 200: MachineSummary, ...problems(400, 401, [404, 'MACHINE_NOT_FOUND'], 500, 503) },
    },
  }, async (request, reply) => {
    const { machine } = request.params
    const { items } = await dispatch(ctx, reply, 'LIST_MACHINES', {})
    const item = items.find(i => i.machine === machine)
    if (item === undefined) throw new RcpError('MACHINE_NOT_FOUND', `machine not found: ${machine}`, { machine })
    return { machine, versions: item.versions, latest: item.versions[item.versions.length - 1] }
  })

  app.put('/v1/machines/:machine/versions/:version', {
    config: { op: 'PUT_MACHINE' },
    schema: {
      operationId: 'putMachineVersion',
      summary: 'Register a machine version (PUT_MACHINE); the body is the definition',
      tags: ['machines'],
      security: BEARER,
      params: VersionPath,
      querystring: pick(PutMachineParams, ['checksum']),
      body: DefinitionBody,
      response: {
        200: { ...PutMachineResult, description: 'the identical version already existed (created:false)' },
        201: { ...PutMachineResult, description: 'created' },
        ...problems(400, 401, [409, 'MACHINE_VERSION_EXISTS'], 413, 415, [422, 'MACHINE_VERSION_LIMIT_EXCEEDED'], 500, 503),
      },
    },
  }, async (request, reply) => {
    const { machine, version } = request.params
    const { checksum } = request.query
    const result = await dispatch(ctx, reply, 'PUT_MACHINE', { machine, version, definition: request.body ?? null, checksum })
    return await reply.code(result.created === true ? 201 : 200).send(result)
  })

  app.get('/v1/machines/:machine/versions/:version', {
    config: { op: 'GET_MACHINE' },
    schema: {
      operationId: 'getMachineVersion',
      summary: 'Get a machine definition (GET_MACHINE); `latest` names the highest version',
      tags: ['machines'],
      security: BEARER,
      params: VersionOrLatestPath,
      headers: IfNoneMatchHeader,
      response: { 200: GetMachineResult, ...NotModified, ...problems(400, 401, [404, 'MACHINE_NOT_FOUND'], 500, 503) },
    },
  }, async (request, reply) => {
    const { machine, version } = request.params
    const result = await dispatch(ctx, reply, 'GET_MACHINE', version === 'latest' ? { machine } : { machine, version })
    if (etagMatches(request, reply, `"${result.checksum}"`)) return await reply.code(304).send()
    return result
  })

  app.post('/v1/machines/validate', {
    config: { op: 'VALIDATE_MACHINE' },
    schema: {
      operationId: 'validateMachine',
      summary: 'Check a definition without storing it (VALIDATE_MACHINE)',
      tags: ['machines'],
      security: BEARER,
      body: withExamples(Definition, {
        order: { summary: 'a valid definition', value: ORDER },
        invalid: { summary: 'every problem is reported', value: { states: ['a'], initial: 'b', transitions: [{ from: 'a', event: 'GO', to: 'c', guard: 'ctx.total() > 1' }] } },
      }),
      response: { 200: ValidateMachineResult, ...problems(400, 401, 413, 415, 500, 503) },
    },
  }, async (request, reply) => await dispatch(ctx, reply, 'VALIDATE_MACHINE', { definition: request.body ?? null }))
}
