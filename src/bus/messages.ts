import type { JsonObject } from '../../protocol/entries.js'
import type { EndReason } from './types.js'

/** A transition (apply_event), or with include_lifecycle an instance's creation or deletion (history.md §6a). */
export type EventKind = 'transition' | 'created' | 'deleted'

/**
 * A committed change as subscribers see it, serialized once per include_ctx variant and
 * shared by every subscriber; only the subscription_id is spliced in (rcp.md §10.3).
 */
export interface SharedEvent {
  offset: number
  kind: EventKind
  instanceId: string
  machine: string
  version: number
  /** transitions and deletions (the state the instance was deleted in) */
  fromState: string | null
  /** transitions and creations (the initial state) */
  toState: string | null
  /** transitions only */
  event: string | null
  payload: JsonObject | null
  /** the ctx after the change: transitions and creations */
  ctx: JsonObject | null
  /** the entry's time (Unix ms), when it carries one */
  ts: number | undefined
  withCtx?: string
  withoutCtx?: string
}

/** Largest time a Date can hold (ECMA-262 §21.4.1.22). */
const MAX_DATE_MS = 8.64e15

function body (e: SharedEvent, includeCtx: boolean): string {
  // transitions keep the RCP shape with no `kind`: official clients only ever see what they know
  const fields: Record<string, unknown> = e.kind === 'transition' ? {} : { kind: e.kind }
  fields.instance_id = e.instanceId
  fields.machine = e.machine
  fields.version = e.version
  fields.wal_offset = e.offset
  if (e.kind !== 'created') fields.from_state = e.fromState
  if (e.kind !== 'deleted') fields.to_state = e.toState
  if (e.kind === 'transition') {
    fields.event = e.event
    fields.payload = e.payload
  }
  if (includeCtx && e.kind !== 'deleted') fields.ctx = e.ctx
  if (typeof e.ts === 'number' && Math.abs(e.ts) <= MAX_DATE_MS) fields.at = new Date(e.ts).toISOString()
  // drop the opening brace: the envelope's own fields come first
  return JSON.stringify(fields).slice(1)
}

export function eventText (event: SharedEvent, subscriptionId: string, includeCtx: boolean): string {
  let rest: string
  if (includeCtx) rest = event.withCtx ??= body(event, true)
  else rest = event.withoutCtx ??= body(event, false)
  return `{"type":"event","subscription_id":${JSON.stringify(subscriptionId)},${rest}`
}

export function endText (subscriptionId: string, reason: EndReason, lastWalOffset: number, resumeFromOffset: number): string {
  return JSON.stringify({
    type: 'subscription_end',
    subscription_id: subscriptionId,
    reason,
    last_wal_offset: lastWalOffset,
    resume_from_offset: resumeFromOffset,
  })
}
