import { Type, type Static } from '@sinclair/typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import type {} from '@fastify/websocket'
import type { JsonObject } from '../protocol/entries.js'
import { RcpError } from '../protocol/errors.js'
import { EventMessage, SubscriptionEnd, WatchInstanceParams, WatchInstanceResult, WatchAllResult, type OpName } from '../protocol/schemas.js'
import { createSession, type Session } from '../src/session/index.js'
import type { AppContext, RoutePluginOptions } from './context.js'
import { StatusError, problems, statusOf } from './problem.js'
import { BEARER, pick, servicesOf } from './support.js'

/** Above this many bytes waiting in the socket, subscriptions hold their events in their own queues (rcp.md §10.3). */
const HIGH_WATER_MARK = 256 * 1024
const SHUTDOWN_GRACE_MS = 5000
/** reserved for the response to the subscription made by the query string */
const OPEN_ID = 'open'

const List = (what: string) => Type.String({ description: `comma-separated ${what}; empty matches everything` })
export const WatchQuery = Type.Object({
  ...pick(WatchInstanceParams, ['instance_id', 'include_ctx', 'from_offset']).properties,
  machines: Type.Optional(List('machine names')),
  events: Type.Optional(List('event names')),
  from_states: Type.Optional(List('from states')),
  to_states: Type.Optional(List('to states')),
  control: Type.Optional(Type.Boolean({ description: 'open without a subscription: control messages only' })),
  access_token: Type.Optional(Type.String({ description: 'bearer token, for browsers that cannot set headers on a WebSocket' })),
})
const Opened = Type.Object({
  type: Type.Literal('response'),
  id: Type.Literal(OPEN_ID),
  status: Type.Literal('ok'),
  result: Type.Union([WatchInstanceResult, WatchAllResult]),
}, { additionalProperties: true })

export interface WatchHub {
  plugin: FastifyPluginAsync<RoutePluginOptions>
  /** shutdown notices on every subscription, then close code 1001 (config.md §3 shutdown order) */
  shutdown: () => Promise<void>
}

function list (value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined
  return value.split(',').map(s => s.trim()).filter(s => s !== '')
}

/** The subscription a query string asks for, or null for `control=true`. */
function openRequest (q: Static<typeof WatchQuery>): { op: 'WATCH_INSTANCE' | 'WATCH_ALL', params: JsonObject } | null {
  if (q.control === true) return null
  const common: JsonObject = {}
  if (q.include_ctx !== undefined) common.include_ctx = q.include_ctx
  if (q.from_offset !== undefined) common.from_offset = q.from_offset
  if (q.instance_id !== undefined) return { op: 'WATCH_INSTANCE', params: { instance_id: q.instance_id, ...common } }
  const params: JsonObject = { ...common }
  for (const key of ['machines', 'events', 'from_states', 'to_states'] as const) {
    const values = list(q[key])
    if (values !== undefined) params[key] = values
  }
  return { op: 'WATCH_ALL', params }
}

/** A WebSocket close reason is at most 123 bytes: the code, then as much of the message as fits. */
function closeReason (error: RcpError): string {
  const text = `${error.code}: ${error.message}`
  let reason = text.slice(0, 123)
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1)
  return reason
}

const SERVED: ReadonlySet<OpName> = new Set<OpName>(['WATCH_INSTANCE', 'WATCH_ALL', 'UNWATCH', 'PING'])

/**
 * GET /v1/watch: the WebSocket transport of the session core (http.md "WebSocket
 * watch"), fed by the same bus as RCP watchers, in the RCP envelopes.
 */
export function createWatchHub (ctx: AppContext): WatchHub {
  const open = new Map<WebSocket, { session: Session, alive: boolean }>()

  function accept (ws: WebSocket, request: FastifyRequest<{ Querystring: Static<typeof WatchQuery> }>): void {
    if (request.authFailure !== null) {
      ws.close(4401, closeReason(request.authFailure))
      return
    }
    // above the high-water mark the session waits for the send callbacks to bring the buffer down
    let blocked = false
    const afterSend = (): void => {
      if (blocked && ws.bufferedAmount < HIGH_WATER_MARK) {
        blocked = false
        session.drained()
      }
    }
    const session = createSession({
      services: servicesOf(ctx),
      tokens: ctx.tokens,
      handshake: false,
      serves: op => SERVED.has(op),
      refusal: op => `${op} is not available on the WebSocket: use WATCH_INSTANCE, WATCH_ALL, UNWATCH or PING`,
      reservedId: OPEN_ID,
      connections: ctx.connections,
      onRequest: ctx.hooks.request,
      logger: request.log,
      transport: {
        send (text) {
          ws.send(text, afterSend)
          if (ws.bufferedAmount < HIGH_WATER_MARK) return true
          blocked = true
          return false
        },
        hasRoom () {
          if (ws.bufferedAmount < HIGH_WATER_MARK) return true
          blocked = true
          return false
        },
        pause: () => ws.pause(),
        resume: () => ws.resume(),
        end: () => new Promise<void>(resolve => {
          if (ws.readyState === ws.CLOSED) return resolve()
          ws.once('close', () => resolve())
          if (ws.readyState === ws.OPEN) ws.close(1001, 'server shutting down')
        }),
        destroy: () => ws.terminate(),
        get closed () { return ws.readyState !== ws.OPEN },
      },
    })
    const entry = { session, alive: true }
    open.set(ws, entry)
    ws.on('pong', () => { entry.alive = true })
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) session.refuse(new RcpError('BAD_REQUEST', 'binary messages are not supported: send JSON text', { reason: 'binary_message' }))
      else session.receive('jsonl', data)
    })
    ws.on('close', () => {
      open.delete(ws)
      session.closed()
    })
    const first = openRequest(request.query)
    // a page that asked for a subscription and cannot have it learns why from the close
    if (first !== null) session.request(OPEN_ID, first.op, first.params, error => ws.close(4000 + statusOf(error), closeReason(error)))
  }

  const plugin: FastifyPluginAsync<RoutePluginOptions> = async (app) => {
    const pinger = setInterval(() => {
      for (const [ws, entry] of open) {
        if (!entry.alive) {
          ws.terminate()
          continue
        }
        entry.alive = false
        ws.ping()
      }
    }, ctx.pingIntervalMs).unref()
    app.addHook('onClose', async () => clearInterval(pinger))

    app.withTypeProvider<TypeBoxTypeProvider>().route({
      method: 'GET',
      url: '/v1/watch',
      config: { op: 'WATCH', accessTokenQuery: true, stream: true },
      schema: {
        operationId: 'watch',
        summary: 'WebSocket: subscribe to committed events (WATCH_INSTANCE / WATCH_ALL)',
        description: 'Upgrade to a WebSocket. The query string subscribes at once; the first message is the subscribe ' +
          'response with id "open". The socket then carries events (RCP event shape), subscription_end notices, and ' +
          'answers to WATCH_INSTANCE, WATCH_ALL, UNWATCH and PING requests in the RCP envelopes. If that first ' +
          'subscribe fails, its error response is followed by a close with code 4000 + the HTTP status of the error ' +
          '(e.g. 4404) and the error code in the reason; a missing or wrong token closes with 4401. A browser page may ' +
          'open it only from the gateway\'s own origin or one listed in http.cors_origins (else 403).',
        tags: ['watch'],
        security: BEARER,
        querystring: WatchQuery,
        response: {
          101: { description: 'switching to the WebSocket protocol; messages: the "open" response, events, subscription_end', content: { 'application/json': { schema: Type.Union([Opened, EventMessage, SubscriptionEnd]) } } },
          ...problems(400, 401, 403, 426, 503),
        },
      },
      handler: async () => {
        throw new StatusError(new RcpError('BAD_REQUEST', 'this route needs a WebSocket upgrade', { reason: 'upgrade_required' }), 426)
      },
      wsHandler: accept,
    })
  }

  return {
    plugin,
    shutdown: async () => { await Promise.all([...open.values()].map(e => e.session.shutdown(SHUTDOWN_GRACE_MS))) },
  }
}
