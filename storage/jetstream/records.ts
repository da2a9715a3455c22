import { headers } from '@nats-io/nats-core'
import type { MsgHdrs } from '@nats-io/nats-core'
import type { WalEntry } from '../../protocol/entries.js'

/**
 * One stream message per WAL entry (cluster.md §2): the payload is the entry's JSON,
 * the headers say which leader term wrote it and whether more of its atomic group follows.
 */
export const TERM_HEADER = 'Rstmdb-Term'
export const GROUP_HEADER = 'Rstmdb-Group'

/** A message of the stream as appliers see it. */
export interface StreamRecord {
  sequence: number
  entry: WalEntry
  /** the term of the leader that appended it (0 when the header is missing) */
  term: number
  /** true on every message of an atomic group but the last */
  cont: boolean
}

export function recordHeaders (term: number, cont: boolean): MsgHdrs {
  const h = headers()
  h.set(TERM_HEADER, String(term))
  if (cont) h.set(GROUP_HEADER, 'cont')
  return h
}

/** The record a stream message holds, or null when its payload is not a JSON object (nothing rstmdb wrote). */
export function decodeRecord (sequence: number, data: Uint8Array, hdrs: MsgHdrs | undefined): StreamRecord | null {
  let entry: unknown
  try {
    entry = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'))
  } catch {
    return null
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || typeof (entry as WalEntry).type !== 'string') return null
  const term = Number(hdrs?.get(TERM_HEADER) ?? 0)
  return {
    sequence,
    entry: entry as WalEntry,
    term: Number.isSafeInteger(term) ? term : 0,
    cont: hdrs?.get(GROUP_HEADER) === 'cont',
  }
}
