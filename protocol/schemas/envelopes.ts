import { Type } from '@sinclair/typebox'
import { ERROR_CODES } from '../errors.js'
import { Int, JsonObject, MAX_NAME_BYTES, Name, WalOffset } from './common.js'

/** Message envelopes (rcp.md §4, §10.1, §10.4). */

export const ErrorBody = Type.Object({
  code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c)), { description: 'one of the 16 RCP error codes' }),
  message: Type.String({ examples: ['instance not found: o-9'] }),
  retryable: Type.Boolean({ description: 'true only for WAL_IO_ERROR, INTERNAL_ERROR, RATE_LIMITED' }),
  details: Type.Optional(JsonObject('left out when empty', [{ instance_id: 'o-9' }])),
})

const TraceId = Type.String({ maxLength: MAX_NAME_BYTES, description: 'at most 256 bytes of UTF-8; echoed as meta.trace_id' })

export const RequestEnvelope = Type.Object({
  type: Type.Optional(Type.Literal('request')),
  id: Name('request id, echoed in the response', ['7']),
  op: Type.String({ description: 'operation name, case-sensitive', examples: ['PING'] }),
  params: Type.Optional(Type.Union([JsonObject('operation params'), Type.Null()], { description: 'default {}; null means {}' })),
  trace_id: Type.Optional(TraceId),
}, { additionalProperties: true })

export const ResponseMeta = Type.Object({
  server_time: Type.String({ description: 'RFC 3339 UTC with milliseconds', examples: ['2025-01-15T10:30:00.123Z'] }),
  leader: Type.Boolean({ description: 'always true (single node)' }),
  wal_offset: WalOffset('offset the request wrote or reported, else the head'),
  trace_id: Type.Optional(TraceId),
})

/** `id` is "" when the request had no usable id. */
const ResponseId = Type.String({ maxLength: MAX_NAME_BYTES, description: 'the request id, or "" when it was missing or invalid' })

export const ResponseOk = Type.Object({
  type: Type.Literal('response'),
  id: ResponseId,
  status: Type.Literal('ok'),
  result: JsonObject('the operation result'),
  meta: ResponseMeta,
})

export const ResponseError = Type.Object({
  type: Type.Literal('response'),
  id: ResponseId,
  status: Type.Literal('error'),
  error: ErrorBody,
  meta: ResponseMeta,
})

export const Response = Type.Union([ResponseOk, ResponseError])

const EventHead = {
  type: Type.Literal('event'),
  subscription_id: Name('subscription id', ['sub-5f0c2a']),
  instance_id: Name('instance id', ['o-1']),
  machine: Name('machine name', ['order']),
  version: Int({ examples: [1] }),
}
/** history.md §6a: an extension field of every event message */
const At = Type.Optional(Type.String({ description: "the entry's time, ISO 8601 (extension)", examples: ['2025-01-15T10:30:00.123Z'] }))

/** A transition: the RCP event (rcp.md §10.1). */
export const EventMessage = Type.Object({
  ...EventHead,
  wal_offset: WalOffset('offset of the apply_event record'),
  from_state: Name('state before the event', ['pending']),
  to_state: Name('state after the event', ['paid']),
  event: Name('event name', ['PAY']),
  payload: Type.Union([JsonObject('the request payload'), Type.Null()]),
  ctx: Type.Optional(JsonObject('ctx after the event; only when include_ctx is true')),
  at: At,
})

/** history.md §6a, only with include_lifecycle: an instance was created. */
export const CreatedEvent = Type.Object({
  ...EventHead,
  kind: Type.Literal('created'),
  wal_offset: WalOffset('offset of the create_instance record'),
  to_state: Name('the initial state', ['pending']),
  ctx: Type.Optional(JsonObject('the initial ctx; only when include_ctx is true')),
  at: At,
})

/** history.md §6a, only with include_lifecycle: an instance was deleted. */
export const DeletedEvent = Type.Object({
  ...EventHead,
  kind: Type.Literal('deleted'),
  wal_offset: WalOffset('offset of the delete_instance record'),
  from_state: Name('the state it was deleted in', ['paid']),
  at: At,
})

export const LifecycleEvent = Type.Union([CreatedEvent, DeletedEvent])

/**
 * overflow and shutdown (rcp.md §10.4); compacted: events from resume_from_offset on can no longer
 * be delivered because compaction removed them (a cluster node that fell behind loaded a newer
 * snapshot): subscribing again from there answers NOT_FOUND offset_compacted, so the client resynchronises.
 */
export const SUBSCRIPTION_END_REASONS = ['overflow', 'shutdown', 'compacted'] as const

export const SubscriptionEnd = Type.Object({
  type: Type.Literal('subscription_end'),
  subscription_id: Name('subscription id', ['sub-5f0c2a']),
  reason: Type.Union(SUBSCRIPTION_END_REASONS.map((r) => Type.Literal(r)), { description: 'overflow, shutdown, or compacted: the events from resume_from_offset on were compacted away' }),
  last_wal_offset: WalOffset('offset of the last event delivered (0 if none)'),
  resume_from_offset: WalOffset('subscribe again with from_offset = this to resume'),
})
