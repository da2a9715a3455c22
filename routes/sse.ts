import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { RcpError } from '../protocol/errors.js'
import { CreatedEvent, DeletedEvent, EventMessage, SubscriptionEnd } from '../protocol/schemas.js'
import type { RoutePluginOptions } from './context.js'
import { InstancePath } from './instances.js'
import { problems, sendProblem } from './problem.js'
import { sseStream, type SseStream } from './sse-stream.js'
import { BEARER, servicesOf } from './support.js'
import { WatchFilterQuery, watchRequest, type WatchRequest } from './watch-query.js'

/** rcp.md §3.6: at most this long for a stream to take its end notice at shutdown */
const SHUTDOWN_GRACE_MS = 5000
/** how soon a browser that reconnected while the server recovers tries again */
const RECOVERY_RETRY_MS = 1000

const ResumeHeader = Type.Object({
  'last-event-id': Type.Optional(Type.String({
    description: 'the id of the last event received (browsers send it when they reconnect): replay from the next offset; wins over from_offset',
  })),
})
const InstanceStreamQuery = Type.Omit(WatchFilterQuery, ['instance_id', 'machines', 'events', 'from_states', 'to_states'])

const STREAM_TEXT = [
  ': subscribed {"subscription_id":"sub-5f0c2a","wal_offset":41}',
  '',
  'id: 42',
  'data: {"type":"event","subscription_id":"sub-5f0c2a","instance_id":"order-1","machine":"order","version":1,"wal_offset":42,"from_state":"created","to_state":"paid","event":"PAY","payload":{"amount":5},"ctx":{"amount":5},"at":"2025-01-15T10:30:00.123Z"}',
  '',
  ': ping',
  '',
  'id: 42',
  'event: subscription_end',
  'data: {"type":"subscription_end","subscription_id":"sub-5f0c2a","reason":"shutdown","last_wal_offset":42,"resume_from_offset":43}',
].join('\n')

const StreamResponse = {
  200: {
    description: 'text/event-stream: each event as `id: <wal_offset>` and `data: <the RCP event JSON>` (no `event:` line, so ' +
      'EventSource.onmessage gets them all; creations and deletions, with lifecycle=true, carry a `kind`); `: ping` comments ' +
      'every 15 s; on overflow or shutdown `event: subscription_end` with resume_from_offset (its id is the offset before it, ' +
      'so a browser reconnects exactly there), then the stream ends. The schema and example are those of one `data:` line. ' +
      `A stream:\n\n\`\`\`\n${STREAM_TEXT}\n\`\`\``,
    content: {
      'text/event-stream': {
        schema: Type.Union([EventMessage, CreatedEvent, DeletedEvent, SubscriptionEnd]),
        example: {
          type: 'event',
          subscription_id: 'sub-5f0c2a',
          instance_id: 'order-1',
          machine: 'order',
          version: 1,
          wal_offset: 42,
          from_state: 'created',
          to_state: 'paid',
          event: 'PAY',
          payload: { amount: 5 },
          ctx: { amount: 5 },
          at: '2025-01-15T10:30:00.123Z',
        },
      },
    },
  },
  ...problems(400, 401, 403, [404, 'INSTANCE_NOT_FOUND'], 503),
}

/** Last-Event-ID: n → from_offset n + 1 (our ids are WAL offsets). */
function resumeOffset (header: string | undefined): number | undefined {
  if (header === undefined) return undefined
  const match = /^\s*(\d{1,16})\s*$/.exec(header)
  const id = match === null ? NaN : Number(match[1])
  if (!Number.isSafeInteger(id) || id >= Number.MAX_SAFE_INTEGER) {
    throw new RcpError('BAD_REQUEST', 'Last-Event-ID must be the id of an event of this stream: a WAL offset', { field: 'last-event-id' })
  }
  return id + 1
}

/**
 * GET /v1/events and GET /v1/instances/{id}/events (history.md §6): Server-Sent Events on the
 * same bus as RCP and WebSocket watchers, with the WebSocket watch's query filters, auth
 * (Bearer or access_token) and Origin rule, the same overflow rule and replay-then-live resume.
 */
export const sseRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { ctx }) => {
  const open = new Set<{ stream: SseStream, shutdown: () => Promise<void> }>()
  const pinger = setInterval(() => { for (const s of open) s.stream.ping() }, ctx.ssePingIntervalMs).unref()
  // streams hold their connections open: end them before the server waits for connections to close
  app.addHook('preClose', async () => { await Promise.all([...open].map(async s => await s.shutdown())) })
  app.addHook('onClose', async () => clearInterval(pinger))
  // A browser reconnecting after a shutdown notice (it sends Last-Event-ID) may reach the server while it
  // recovers; EventSource takes any status but 200 as final and would stop for good. Told in SSE's own
  // terms to retry, it comes back with the same Last-Event-ID once the server is ready.
  app.setErrorHandler((err, request, reply) => {
    if (request.headers['last-event-id'] === undefined || ctx.state() !== 'recovering') return sendProblem(request, reply, err)
    return reply.code(200).type('text/event-stream; charset=utf-8').header('cache-control', 'no-cache').send(`retry: ${RECOVERY_RETRY_MS}\n\n`)
  })

  /** Subscribes, or throws (a problem answered before the stream starts); then the stream is the bus's. */
  function subscribe (reply: FastifyReply, lastEventId: string | undefined, subscription: WatchRequest): void {
    const fromOffset = resumeOffset(lastEventId)
    if (fromOffset !== undefined) subscription.params.from_offset = fromOffset
    const stream = sseStream(reply.raw)
    const owner = servicesOf(ctx).attach(stream.sink)
    let watched
    try {
      watched = owner.watch(subscription.op, subscription.params)
    } catch (err) {
      owner.close()
      throw err
    }
    reply.hijack()
    stream.begin({ ...reply.getHeaders(), 'x-wal-offset': watched.walOffset }, watched.result)
    const entry = {
      stream,
      async shutdown () {
        let timer: NodeJS.Timeout | undefined
        const deadline = new Promise<void>(resolve => { timer = setTimeout(resolve, SHUTDOWN_GRACE_MS) })
        // the end notice ends the response; a client that does not read is cut off at the deadline
        await Promise.race([owner.shutdown().then(async () => await stream.closed), deadline])
        clearTimeout(timer)
        stream.destroy()
      },
    }
    open.add(entry)
    void stream.closed.then(() => {
      open.delete(entry)
      owner.close()
    })
    watched.start()
  }

  const common = {
    config: { op: 'WATCH', accessTokenQuery: true, stream: true },
    exposeHeadRoute: false,
  }

  app.get('/v1/events', {
    ...common,
    schema: {
      operationId: 'streamEvents',
      summary: 'Server-Sent Events: committed events of every instance, filtered (WATCH_ALL), or of one (instance_id)',
      description: 'Works with the browser\'s EventSource and with `curl -N`. The query filters are those of the WebSocket watch; ' +
        'from_offset (or the Last-Event-ID header, which wins) replays from that offset, then continues live without a gap. ' +
        'Bad filters, a malformed Last-Event-ID, an unknown instance or a compacted offset are answered as problems before the stream starts.',
      tags: ['watch'],
      security: BEARER,
      querystring: WatchFilterQuery,
      headers: ResumeHeader,
      response: StreamResponse,
    },
  }, async (request, reply) => {
    subscribe(reply, request.headers['last-event-id'], watchRequest(request.query))
  })

  app.get('/v1/instances/:id/events', {
    ...common,
    schema: {
      operationId: 'streamInstanceEvents',
      summary: 'Server-Sent Events: committed events of one instance (WATCH_INSTANCE)',
      description: 'As GET /v1/events?instance_id=…: from_offset or Last-Event-ID resume; with lifecycle=true also its deletion.',
      tags: ['watch'],
      security: BEARER,
      params: InstancePath,
      querystring: InstanceStreamQuery,
      headers: ResumeHeader,
      response: StreamResponse,
    },
  }, async (request, reply) => {
    subscribe(reply, request.headers['last-event-id'], watchRequest({ ...request.query, instance_id: request.params.id }))
  })
}
