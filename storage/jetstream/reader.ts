import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream'
import { RcpError } from '../../protocol/errors.js'
import type { CommittedRecord } from '../log.js'
import { decodeRecord } from './records.js'
import { createTermFilter } from './terms.js'
import type { TermIndex } from './terms.js'

/** record bytes as the WAL counts them: a 24-byte header and the payload */
export const RECORD_HEADER_BYTES = 24
/** messages requested at once */
export const WINDOW = 128

/** A sequence at or below the committed head is gone: compaction purged the stream up to it. */
export class PurgedError extends Error {
  constructor (readonly sequence: number) {
    super(`stream sequence ${sequence} has been purged`)
    this.name = 'PurgedError'
  }
}

export interface ReadRange {
  jsm: JetStreamManager
  stream: string
  terms: TermIndex
  /** the first sequence to read (already raised to the earliest retained one) */
  from: number
  /** the last sequence that may be returned */
  head: number
  limit: number
  maxBytes: number
}

/** The messages at `sequences`, requested together; null where the stream holds none. */
export async function fetchMessages (jsm: JetStreamManager, stream: string, sequences: number[]): Promise<Array<StoredMsg | null>> {
  try {
    return await Promise.all(sequences.map(async (seq) => await jsm.streams.getMessage(stream, { seq })))
  } catch (err) {
    throw new RcpError('WAL_IO_ERROR', `cannot read the stream: ${(err as Error).message}`)
  }
}

/**
 * Committed records of the stream from `from` to `head` that took effect (the term rule
 * of terms.ts, started with the term in force at `from`), ascending, at most `limit`, and
 * at most `maxBytes` of record bytes (always at least one record). A group still open at
 * the limit is read to its end to learn whether it took effect. Throws PurgedError when
 * compaction removed part of the range meanwhile.
 */
export async function readRange (r: ReadRange): Promise<{ records: CommittedRecord[], bytes: number }> {
  const filter = createTermFilter(r.terms.termBefore(r.from))
  const records: CommittedRecord[] = []
  // sizes of the messages the filter holds (a group is released at its last message)
  const sizes = new Map<number, number>()
  let bytes = 0
  const full = (): boolean => records.length >= r.limit
  for (let first = r.from; first <= r.head && (!full() || filter.pending); first += WINDOW) {
    const last = Math.min(r.head, first + WINDOW - 1)
    const window = await fetchMessages(r.jsm, r.stream, Array.from({ length: last - first + 1 }, (_, i) => first + i))
    for (let i = 0; i < window.length; i++) {
      const msg = window[i]
      // the stream denies deletes: a committed sequence can only be missing when purged
      if (msg === null) throw new PurgedError(first + i)
      const record = decodeRecord(msg.seq, msg.data, msg.header)
      if (record === null) continue
      sizes.set(msg.seq, RECORD_HEADER_BYTES + msg.data.length)
      for (const taken of filter.offer(record)) {
        if (full()) continue
        const size = sizes.get(taken.sequence) as number
        if (records.length > 0 && bytes + size > r.maxBytes) return { records, bytes }
        records.push(taken)
        bytes += size
      }
      if (!filter.pending) sizes.clear()
      if (full() && !filter.pending) return { records, bytes }
    }
  }
  return { records, bytes }
}
