import { Type, type Static } from '@sinclair/typebox'
import type { JsonObject } from '../protocol/entries.js'
import { WatchInstanceParams } from '../protocol/schemas.js'
import { pick } from './support.js'

/**
 * The query string of the event streams, the WebSocket watch and SSE: it names one
 * subscription (WATCH_INSTANCE or WATCH_ALL) with the RCP params, lists comma-separated.
 */

const List = (what: string) => Type.String({ description: `comma-separated ${what}; empty matches everything` })

export const WatchFilterQuery = Type.Object({
  ...pick(WatchInstanceParams, ['instance_id', 'include_ctx', 'from_offset']).properties,
  machines: Type.Optional(List('machine names')),
  events: Type.Optional(List('event names')),
  from_states: Type.Optional(List('from states')),
  to_states: Type.Optional(List('to states')),
  lifecycle: Type.Optional(Type.Boolean({ description: 'also instance creations and deletions (events with a `kind`): include_lifecycle' })),
  access_token: Type.Optional(Type.String({ description: 'bearer token, for browsers that cannot set headers on a WebSocket or an EventSource' })),
})

export type WatchFilter = Static<typeof WatchFilterQuery>

export interface WatchRequest {
  op: 'WATCH_INSTANCE' | 'WATCH_ALL'
  params: JsonObject
}

function list (value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined
  return value.split(',').map(s => s.trim()).filter(s => s !== '')
}

/** `instance_id` makes a WATCH_INSTANCE, anything else a WATCH_ALL with the given filters. */
export function watchRequest (q: WatchFilter): WatchRequest {
  const common: JsonObject = {}
  if (q.include_ctx !== undefined) common.include_ctx = q.include_ctx
  if (q.from_offset !== undefined) common.from_offset = q.from_offset
  if (q.lifecycle !== undefined) common.include_lifecycle = q.lifecycle
  if (q.instance_id !== undefined) return { op: 'WATCH_INSTANCE', params: { instance_id: q.instance_id, ...common } }
  const params: JsonObject = { ...common }
  for (const key of ['machines', 'events', 'from_states', 'to_states'] as const) {
    const values = list(q[key])
    if (values !== undefined) params[key] = values
  }
  return { op: 'WATCH_ALL', params }
}
