import type { WalEntry } from '../protocol/entries.js'

/**
 * The log behind the dispatcher and the bus (architecture.md): the local WAL in
 * single-node mode, the JetStream stream in cluster mode (cluster.md §2). Offsets
 * are the log's sequence numbers; everything above committedHead() may still fail.
 */

/** A committed record as a log hands it out. */
export interface CommittedRecord {
  sequence: number
  entry: WalEntry
}

export type CommitListener = (records: CommittedRecord[]) => void

/** Offsets `from` … `to` will never get commit notices on this node (cluster mode: it loaded a newer snapshot). */
export type SkipListener = (from: number, to: number) => void

/** A catch-up cursor's hold on records it has not read yet (storage.md §7). */
export interface Pin {
  /** the cursor has read everything below `sequence` */
  advance: (sequence: number) => void
  release: () => void
}

export interface Log {
  /**
   * Numbers and buffers the entries synchronously and returns their sequences
   * (an atomic group when `group`); throws RcpError (BAD_REQUEST for an oversized
   * record, WAL_IO_ERROR when the log cannot take writes).
   */
  append: (entries: WalEntry[], group: boolean) => number[]
  /** resolves once `sequence` has committed; rejects with WAL_IO_ERROR if it cannot */
  waitFor: (sequence: number) => Promise<void>
  /** listeners get each commit's records in sequence order, in the turn that moves committedHead() */
  onCommit: (listener: CommitListener) => () => void
  /**
   * Listeners hear of offsets the head moves past without commit notices, before it moves. Only a
   * cluster node does that (after compaction purged what it had not applied yet); the local WAL never.
   */
  onSkip?: (listener: SkipListener) => () => void
  /** committed records with sequence ≥ fromOffset, ascending, at most `limit`, stopping before `maxBytes` */
  read: (fromOffset: number, limit: number, maxBytes: number) => Promise<{ records: CommittedRecord[] }>
  /** holds back compaction of records ≥ sequence */
  pin: (sequence: number) => Pin
  /** last sequence given out (counting a snapshot's last sequence) */
  appendedHead: () => number
  /** last committed sequence: acknowledgements, events and WAL_READ stop here */
  committedHead: () => number
  /** true once committedHead() reaches `sequence`, false when `timeoutMs` passes first (read-your-writes, cluster.md §4) */
  untilCommitted: (sequence: number, timeoutMs: number) => Promise<boolean>
  /** oldest retained record's sequence, or committedHead() + 1 when none */
  earliestOffset: () => number
  /** true once the log refuses writes until restart (storage.md §4 failed state) */
  isFailed: () => boolean
}

/** One instance's page of history (history.md §2): what a HistorySource answers. */
export interface HistoryPage {
  /** committed entries of the instance, in the direction asked */
  records: CommittedRecord[]
  /** offset of the instance's next entry in that direction, null when there is none */
  next: number | null
  /** offset of the instance's oldest kept entry, null when none is kept */
  earliest: number | null
  /** the instance's first entry (its creation) is still kept: none of its history was dropped */
  complete: boolean
}

export interface HistoryQuery {
  /** ascending: the lowest offset to include; reverse: the highest */
  from: number
  limit: number
  /** newest first */
  reverse: boolean
  /** stop before the records' bytes pass this (at least one record is returned) */
  maxBytes: number
}

/**
 * The committed entries of one instance, by offset, in either direction: the WAL and its
 * index in single-node mode (storage/history.ts), the stream read by subject in cluster mode.
 */
export interface HistorySource {
  instanceHistory: (instanceId: string, query: HistoryQuery) => Promise<HistoryPage>
}
