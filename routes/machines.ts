import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
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
import { BEARER, dispatch, pick } from './support.js'

const MachinePath = pick(PutMachineParams, ['machine'], ['machine'])
const VersionPath = pick(PutMachineParams, ['machine', 'version'], ['machine', 'version'])
export const VersionOrLatestPath = Type.Object({
  machine: PutMachineParams.properties.machine,
  version: Type.Union([PutMachineParams.properties.version, Type.Literal('latest')], { description: 'a version number or `latest`' }),
})
const MachineSummary = Type.Object({
  machine: PutMachineParams.properties.machine,
  versions: ListMachinesResult.properties.items.items.properties.versions,
  latest: PutMachineParams.properties.version,
})

/** Machine definitions: LIST_MACHINES, GET_MACHINE, PUT_MACHINE, VALIDATE_MACHINE. */
export const machineRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app, { ctx }) => {
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
      response: { 200: MachineSummary, ...problems(400, 401, 404, 500, 503) },
    },
  }, async (request, reply) => {
    const { machine } = request.params as { machine: string }
    const { items } = await dispatch(ctx, reply, 'LIST_MACHINES', {}) as { items: Array<{ machine: string, versions: number[] }> }
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
      body: Definition,
      response: {
        200: { ...PutMachineResult, description: 'the identical version already existed (created:false)' },
        201: { ...PutMachineResult, description: 'created' },
        ...problems(400, 401, 409, 413, 415, 422, 500, 503),
      },
    },
  }, async (request, reply) => {
    const { machine, version } = request.params as { machine: string, version: number }
    const { checksum } = request.query as { checksum?: string }
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
      response: { 200: GetMachineResult, ...problems(400, 401, 404, 500, 503) },
    },
  }, async (request, reply) => {
    const { machine, version } = request.params as { machine: string, version: number | 'latest' }
    const result = await dispatch(ctx, reply, 'GET_MACHINE', version === 'latest' ? { machine } : { machine, version })
    reply.header('etag', `"${String(result.checksum)}"`)
    return result
  })

  app.post('/v1/machines/validate', {
    config: { op: 'VALIDATE_MACHINE' },
    schema: {
      operationId: 'validateMachine',
      summary: 'Check a definition without storing it (VALIDATE_MACHINE)',
      tags: ['machines'],
      security: BEARER,
      body: Definition,
      response: { 200: ValidateMachineResult, ...problems(400, 401, 413, 415, 500, 503) },
    },
  }, async (request, reply) => await dispatch(ctx, reply, 'VALIDATE_MACHINE', { definition: request.body ?? null }))
}

