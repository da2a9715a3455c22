import type { JsonObject } from '../../protocol/entries.js'
import type { OpName, OpResult } from '../../protocol/schemas.js'

/**
 * Contract of the one dispatcher both faces call (architecture.md). Session ops
 * (HELLO, AUTH, PING, BYE, WATCH_*, UNWATCH) live in the session core and the bus;
 * everything else is an op here.
 */

export interface OpOutcome<R = JsonObject> {
  /** the RCP `result` object */
  result: R
  /** meta.wal_offset (rcp.md §4.2, §5): highest offset written or reported, else the head */
  walOffset: number
  /** an idempotent replay: the stored result of an earlier request, nothing written */
  replayed?: boolean
}

/** What a face tells the dispatcher about the caller. */
export interface CallerInfo {
  /** open connections across both faces, for INFO */
  connections?: number
}

export type Dispatch = <K extends OpName>(op: K, params: unknown, caller?: CallerInfo) => Promise<OpOutcome<OpResult<K>>>

export interface Dispatcher {
  /**
   * Validates params with the protocol schemas, runs the op and, for writes,
   * resolves only after the commit that covers it. Rejects with RcpError.
   */
  dispatch: Dispatch
  /** current committed head, for meta.wal_offset of session-level ops */
  head: () => number
  /** what INFO and HELLO list (rcp.md §6.1): the server's features that this dispatcher serves */
  features: readonly string[]
}

/**
 * What /readyz reports (config.md §3, cluster.md §4): `ok`, or why the node should not get
 * traffic now. Single node: `wal_failed` once the WAL refuses writes. Cluster: `catching_up`
 * until the node has applied the stream once, `nats_disconnected` while it has lost NATS.
 */
export type Readiness = 'ok' | 'wal_failed' | 'catching_up' | 'nats_disconnected'
