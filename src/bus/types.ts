import type { SUBSCRIPTION_END_REASONS } from '../../protocol/schemas.js'
import type { Log } from '../../storage/log.js'

export type { CommittedRecord } from '../../storage/log.js'

/** What the bus needs from the log: commit notifications, committed reads and compaction pins. */
export type CommittedLog = Pick<Log, 'onCommit' | 'onSkip' | 'read' | 'pin' | 'earliestOffset' | 'appendedHead' | 'committedHead'>

/**
 * A transport that carries subscription output: an RCP connection, a WebSocket.
 * Only the "can I write more" signal differs between them (rcp.md §10.3).
 */
export interface Sink {
  /**
   * Hands one message (compact JSON text) to the transport; false = above its high-water mark.
   * `position`: every matching event up to this offset has been handed over with it (an event's
   * wal_offset; one below resume_from_offset for the end notice), for transports that number
   * their messages (the SSE `id:`).
   */
  send: (text: string, kind: 'event' | 'end', position: number) => boolean
  /** One-shot callback for when the transport can take more after send returned false. */
  onDrain: (callback: () => void) => void
}

export type EndReason = (typeof SUBSCRIPTION_END_REASONS)[number]
