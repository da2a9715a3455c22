import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import type {} from '@fastify/websocket'
import type { JsonObject } from '../protocol/entries.js'
import { RcpError, toRcpError } from '../protocol/errors.js'
import { EnvelopeError, EventMessage, SubscriptionEnd, validateEnvelope, WatchInstanceParams, WatchInstanceResult, WatchAllResult } from '../protocol/schemas.js'
import type { Owner } from '../src/bus/index.js'
import type { GatewayContext, RoutePluginOptions } from './context.js'
import { StatusError, problems } from './problem.js'
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
type Query = { instance_id?: string, include_ctx?: boolean, from_offset?: number, control?: boolean } & Partial<Record<'machines' | 'events' | 'from_states' | 'to_states', string>>

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
  readonly sockets: number
}

interface WatchSocket {
  ws: WebSocket
  owner: Owner
  alive: boolean
}

function list (value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined
  return value.split(',').map(s => s.trim()).filter(s => s !== '')
}

/** The subscription a query string asks for, or null for `control=true`. */
function openRequest (q: Query): { op: 'WATCH_INSTANCE' | 'WATCH_ALL', params: JsonObject } | null {
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

/**
 * GET /v1/watch: subscriptions over a WebSocket, fed by the same bus as RCP
 * watchers, in the RCP envelopes (http.md "WebSocket watch").
 */
export function createWatchHub (ctx: GatewayContext): WatchHub {
  const open = new Set<WatchSocket>()

  function meta (walOffset: number, traceId?: string): JsonObject {
    const m: JsonObject = { server_time: new Date().toISOString(), leader: true, wal_offset: walOffset }
    if (traceId !== undefined) m.trace_id = traceId
    return m
  }

  function respondOk (ws: WebSocket, id: string, result: JsonObject, walOffset: number, traceId?: string): void {
    ws.send(JSON.stringify({ type: 'response', id, status: 'ok', result, meta: meta(walOffset, traceId) }))
  }

  function respondError (ws: WebSocket, id: string, error: RcpError, traceId?: string): void {
    const head = ctx.services()?.dispatcher.head() ?? 0
    ws.send(JSON.stringify({ type: 'response', id, status: 'error', error: error.toJSON(), meta: meta(head, traceId) }))
  }

  /** One RCP request on the socket: WATCH_INSTANCE, WATCH_ALL, UNWATCH, PING; anything else is BAD_REQUEST. */
  function handle (socket: WatchSocket, data: Buffer, isBinary: boolean, request: FastifyRequest): void {
    const started = process.hrtime.bigint()
    let id = ''
    let op = ''
    let traceId: string | undefined
    const observe = (code: string | null): void => {
      ctx.metrics.request('http', op === '' ? 'INVALID' : op, code, Number(process.hrtime.bigint() - started) / 1e9)
    }
    try {
      if (isBinary) throw new RcpError('BAD_REQUEST', 'binary messages are not supported: send JSON text', { reason: 'binary_message' })
      let message: unknown
      try {
        message = JSON.parse(data.toString('utf8'))
      } catch {
        throw new RcpError('BAD_REQUEST', 'message is not valid JSON', { reason: 'invalid_json' })
      }
      const envelope = validateEnvelope(message)
      traceId = envelope.trace_id
      if (envelope.id === OPEN_ID) throw new RcpError('BAD_REQUEST', `request id "${OPEN_ID}" is reserved`, { field: 'id' })
      id = envelope.id
      op = envelope.op
      switch (envelope.op) {
        case 'WATCH_INSTANCE':
        case 'WATCH_ALL': {
          const watched = socket.owner.watch(envelope.op, envelope.params)
          respondOk(socket.ws, id, watched.result, watched.walOffset, traceId)
          watched.start()
          break
        }
        case 'UNWATCH': {
          const { result, walOffset } = socket.owner.unwatch(envelope.params)
          respondOk(socket.ws, id, result, walOffset, traceId)
          break
        }
        case 'PING':
          respondOk(socket.ws, id, { pong: true }, servicesOf(ctx).dispatcher.head(), traceId)
          break
        default:
          throw new RcpError('BAD_REQUEST', `${envelope.op} is not available on the WebSocket: use WATCH_INSTANCE, WATCH_ALL, UNWATCH or PING`, { op: envelope.op })
      }
      observe(null)
    } catch (err) {
      const error = toRcpError(err)
      if (error !== err) request.log.error({ err }, 'WebSocket message failed unexpectedly')
      if (err instanceof EnvelopeError) {
        id = err.id
        traceId = err.traceId
      }
      observe(error.code)
      respondError(socket.ws, id, error, traceId)
    }
  }

  function accept (ws: WebSocket, request: FastifyRequest): void {
    const services = servicesOf(ctx)
    const drainWaiters: Array<() => void> = []
    const afterSend = (): void => {
      if (drainWaiters.length > 0 && ws.bufferedAmount < HIGH_WATER_MARK) for (const waiter of drainWaiters.splice(0)) waiter()
    }
    const owner = services.bus.attach({
      send (text) {
        if (ws.readyState !== ws.OPEN) return true
        ws.send(text, afterSend)
        return ws.bufferedAmount < HIGH_WATER_MARK
      },
      onDrain (callback) { drainWaiters.push(callback) },
    })
    const socket: WatchSocket = { ws, owner, alive: true }
    open.add(socket)
    ws.on('pong', () => { socket.alive = true })
    ws.on('message', (data: Buffer, isBinary: boolean) => handle(socket, data, isBinary, request))
    ws.on('close', () => {
      open.delete(socket)
      owner.close()
    })

    const first = openRequest(request.query as Query)
    if (first === null) return
    try {
      const watched = owner.watch(first.op, first.params)
      respondOk(ws, OPEN_ID, watched.result, watched.walOffset)
      watched.start()
    } catch (err) {
      // the socket stays open for control messages (http.md)
      respondError(ws, OPEN_ID, toRcpError(err))
    }
  }

  const plugin: FastifyPluginAsync<RoutePluginOptions> = async (app) => {
    const pinger = setInterval(() => {
      for (const socket of open) {
        if (!socket.alive) {
          socket.ws.terminate()
          continue
        }
        socket.alive = false
        socket.ws.ping()
      }
    }, ctx.pingIntervalMs).unref()
    app.addHook('onClose', async () => clearInterval(pinger))

    app.route({
      method: 'GET',
      url: '/v1/watch',
      config: { op: 'WATCH', accessTokenQuery: true },
      schema: {
        operationId: 'watch',
        summary: 'WebSocket: subscribe to committed events (WATCH_INSTANCE / WATCH_ALL)',
        description: 'Upgrade to a WebSocket. The query string subscribes at once; the first message is the subscribe ' +
          'response with id "open". The socket then carries events (RCP event shape), subscription_end notices, and ' +
          'answers to WATCH_INSTANCE, WATCH_ALL, UNWATCH and PING requests in the RCP envelopes.',
        tags: ['watch'],
        security: BEARER,
        querystring: WatchQuery,
        response: {
          101: { description: 'switching to the WebSocket protocol; messages: the "open" response, events, subscription_end', content: { 'application/json': { schema: Type.Union([Opened, EventMessage, SubscriptionEnd]) } } },
          ...problems(400, 401, 426, 503),
        },
      },
      handler: async () => {
        throw new StatusError(new RcpError('BAD_REQUEST', 'this route needs a WebSocket upgrade', { reason: 'upgrade_required' }), 426)
      },
      wsHandler: accept,
    })
  }

  async function closeSocket (socket: WatchSocket): Promise<void> {
    const { ws } = socket
    const closed = new Promise<void>(resolve => {
      if (ws.readyState === ws.CLOSED) resolve()
      else ws.once('close', () => resolve())
    })
    const grace = new Promise<void>(resolve => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref())
    await Promise.race([socket.owner.shutdown(), grace])
    if (ws.readyState === ws.OPEN) ws.close(1001, 'server shutting down')
    await Promise.race([closed, grace])
    ws.terminate()
  }

  return {
    plugin,
    shutdown: async () => { await Promise.all([...open].map(closeSocket)) },
    get sockets () { return open.size },
  }
}
