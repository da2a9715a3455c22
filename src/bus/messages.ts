import type { ApplyEventEntry } from '../../protocol/entries.js'
import type { EndReason } from './types.js'

/**
 * An event serialized once per include_ctx variant and shared by every
 * subscriber; only the subscription_id is spliced in (rcp.md §10.3).
 */
export interface SharedEvent {
  offset: number
  entry: ApplyEventEntry
  machine: string
  version: number
  withCtx?: string
  withoutCtx?: string
}

function body (event: SharedEvent, includeCtx: boolean): string {
  const { entry } = event
  const fields: Record<string, unknown> = {
    instance_id: entry.instance_id,
    machine: event.machine,
    version: event.version,
    wal_offset: event.offset,
    from_state: entry.from_state,
    to_state: entry.to_state,
    event: entry.event,
    payload: entry.payload ?? null,
  }
  if (includeCtx) fields.ctx = entry.ctx
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
