import type { JsonObject } from '../../protocol/entries.js'
import type { RcpError } from '../../protocol/errors.js'

/** Response envelopes and their `meta` (rcp.md §4.2), the same on every session transport. */

let timeMs = 0
let timeText = ''
/** meta.server_time: RFC 3339 UTC with milliseconds, formatted once per millisecond */
function serverTime (): string {
  const now = Date.now()
  if (now !== timeMs) {
    timeMs = now
    timeText = new Date(now).toISOString()
  }
  return timeText
}

export interface Meta {
  walOffset: number
  leader: boolean
  traceId?: string
}

function metaOf (m: Meta): JsonObject {
  const meta: JsonObject = { server_time: serverTime(), leader: m.leader, wal_offset: m.walOffset }
  if (m.traceId !== undefined) meta.trace_id = m.traceId
  return meta
}

export function okText (id: string, result: JsonObject, meta: Meta): string {
  return JSON.stringify({ type: 'response', id, status: 'ok', result, meta: metaOf(meta) })
}

export function errorText (id: string, error: RcpError, meta: Meta): string {
  return JSON.stringify({ type: 'response', id, status: 'error', error: error.toJSON(), meta: metaOf(meta) })
}
