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
  /** Hands one message (compact JSON text) to the transport; false = above its high-water mark. */
  send: (text: string, kind: 'event' | 'end') => boolean
  /** One-shot callback for when the transport can take more after send returned false. */
  onDrain: (callback: () => void) => void
}

export type EndReason = (typeof SUBSCRIPTION_END_REASONS)[number]
