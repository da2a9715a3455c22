import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { InfoResult } from '../protocol/schemas.js'
import type { RoutePluginOptions } from './context.js'
import { problems } from './problem.js'
import { BEARER, dispatch } from './support.js'

const Status = Type.Object({ status: Type.String({ examples: ['ok'] }) })
const NotReady = Type.Object({
  status: Type.Union([Type.Literal('recovering'), Type.Literal('stopping'), Type.Literal('wal_failed')]),
}, { description: 'recovering, shutting down, or the WAL is in its failed state' })

/** INFO, liveness, readiness and the Prometheus endpoint. */
export const opsRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app, { ctx }) => {
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

  app.get('/healthz', {
    config: { public: true },
    schema: { operationId: 'healthz', summary: 'Liveness: the process is up', tags: ['ops'], response: { 200: Status } },
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { public: true },
    schema: {
      operationId: 'readyz',
      summary: 'Readiness: recovery finished and the WAL is writable',
      tags: ['ops'],
      response: { 200: Status, 503: NotReady },
    },
  }, async (_request, reply) => {
    const state = ctx.state()
    if (state !== 'ready') return await reply.code(503).send({ status: state })
    if (ctx.services()?.isWritable() !== true) return await reply.code(503).send({ status: 'wal_failed' })
    return { status: 'ok' }
  })

  app.get('/metrics', {
    config: { public: !ctx.metricsRequireAuth },
    schema: {
      operationId: 'metrics',
      summary: 'Prometheus metrics of both faces (text format)',
      tags: ['ops'],
      // a token is needed only when metrics.require_auth is on
      security: [{}, ...BEARER],
      response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: Type.String() } } } },
    },
  }, async (_request, reply) => {
    reply.type(ctx.metrics.contentType)
    return await ctx.metrics.render()
  })
}
