import type { WalEntry } from '../../protocol/entries.js'
import type { CommittedRecord } from '../log.js'
import type { StreamRecord } from './records.js'

/**
 * Which stream messages take effect (cluster.md §2–§3). A leader appends pipelined, each
 * message expecting the previous sequence. When a new leader's term entry lands at the
 * sequence an old leader's in-flight message expected, the old leader's later messages can
 * still match their expected sequences and land behind it. So every message carries its
 * leader's term, and appliers drop messages of a term older than the last term entry, as
 * well as term entries that do not raise the term. Groups are applied only when their last
 * message arrives; a group cut off by a term entry is dropped. Every node runs the same
 * rule over the same stream, so all apply the same records.
 */

/** The term a term entry starts, or null for any other entry. */
export function entryTerm (entry: WalEntry): number | null {
  if (entry.type !== 'checkpoint') return null
  const term = (entry as { term?: unknown }).term
  return typeof term === 'number' && Number.isSafeInteger(term) ? term : null
}

export interface TermFilter {
  /** the term of the last term entry taken */
  readonly term: number
  /** a group is buffered, waiting for its last message */
  readonly pending: boolean
  /** takes the next message in stream order; returns the records that take effect now (none, one, or a whole group) */
  offer: (record: StreamRecord) => CommittedRecord[]
}

const NONE: CommittedRecord[] = []

export function createTermFilter (startTerm: number): TermFilter {
  let term = startTerm
  let group: CommittedRecord[] = []
  return {
    get term () { return term },
    get pending () { return group.length > 0 },
    offer (record) {
      const started = entryTerm(record.entry)
      if (started !== null) {
        group = []
        if (started <= term) return NONE
        term = started
        return [{ sequence: record.sequence, entry: record.entry }]
      }
      if (record.term < term) return NONE
      group.push({ sequence: record.sequence, entry: record.entry })
      if (record.cont) return NONE
      const done = group
      group = []
      return done
    },
  }
}

/**
 * The term entries taken so far, by sequence, so a reader starting anywhere knows the
 * term in force there. `base` is the term in force before the first one indexed.
 */
export class TermIndex {
  private readonly sequences: number[] = []
  private readonly terms: number[] = []

  constructor (private readonly base = 0) {}

  /** records a term entry taken at `sequence` (in ascending order; repeats are ignored) */
  add (sequence: number, term: number): void {
    const last = this.sequences.length - 1
    if (last >= 0 && this.sequences[last] >= sequence) return
    this.sequences.push(sequence)
    this.terms.push(term)
  }

  /** the term in force for the message at `sequence` */
  termBefore (sequence: number): number {
    let lo = 0
    let hi = this.sequences.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.sequences[mid] < sequence) lo = mid + 1
      else hi = mid
    }
    return lo === 0 ? this.base : this.terms[lo - 1]
  }
}
