import type { WalEntry } from '../../protocol/entries.js'

/** A committed WAL record as the storage layer hands it out. */
export interface CommittedRecord {
  sequence: number
  entry: WalEntry
}

/** What the bus needs from storage: commit notifications, committed reads and compaction pins. */
export interface CommittedLog {
  /** Listeners run in sequence order, in the same turn that moves committedHead(). */
  onCommit: (listener: (records: CommittedRecord[]) => void) => () => void
  read: (fromOffset: number, limit: number, maxBytes: number) => Promise<{ records: CommittedRecord[] }>
  pin: (sequence: number) => { advance: (sequence: number) => void, release: () => void }
  earliestOffset: () => number
  appendedHead: () => number
  committedHead: () => number
}

/**
 * A transport that carries subscription output: an RCP connection, a WebSocket.
 * Only the "can I write more" signal differs between them (rcp.md §10.3).
 */
export interface Sink {
  /** Hands one message (compact JSON text) to the transport; false = above its high-water mark. */
  send: (text: string, kind: 'event' | 'end') => boolean
  /** One-shot callback for when the transport can take more after send returned false. */
  onDrain: (callback: () => void) => void
}

export type EndReason = 'overflow' | 'shutdown'
