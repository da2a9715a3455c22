import type { JsonObject } from '../../protocol/entries.js'

/**
 * Contract of the one dispatcher both faces call (architecture.md). Session rules
 * (HELLO, AUTH, BYE, WATCH_*, UNWATCH) live in the faces and the bus; everything
 * else is an op here.
 */

export interface OpOutcome {
  /** the RCP `result` object */
  result: JsonObject
  /** meta.wal_offset (rcp.md §4.2, §5): highest offset written or reported, else the head */
  walOffset: number
}

/** What a face tells the dispatcher about the caller. */
export interface CallerInfo {
  /** open connections across both faces, for INFO */
  connections?: number
}

export interface Dispatcher {
  /**
   * Validates params with the protocol schemas, runs the op and, for writes,
   * resolves only after the commit that covers it. Rejects with RcpError.
   */
  dispatch: (op: string, params: unknown, caller?: CallerInfo) => Promise<OpOutcome>
  /** current committed head, for meta.wal_offset of session-level ops */
  head: () => number
}
