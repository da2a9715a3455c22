import type { JsonObject, NormalizedDefinition, WalEntry } from '../../protocol/entries.js'

/**
 * Contract between the engine (pure decisions over in-memory state) and the
 * write path in src/ops. The engine never does I/O and never knows sequence
 * numbers until `apply` hands them in.
 */

export interface EngineOptions {
  /** 0 = unlimited (config.md storage.max_machine_versions) */
  maxMachineVersions: number
  idempotencyTtlSecs: number
  idempotencyMaxKeys: number
  /** Unix ms; injectable so tests control time */
  now: () => number
  /** called for replay anomalies (unknown instance, invalid stored definition) and the idempotency bound */
  warn: (message: string, fields?: Record<string, unknown>) => void
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  maxMachineVersions: 0,
  idempotencyTtlSecs: 86_400,
  idempotencyMaxKeys: 1_000_000,
  now: Date.now,
  warn: () => {},
}

export type WriteOp = 'PUT_MACHINE' | 'CREATE_INSTANCE' | 'APPLY_EVENT' | 'DELETE_INSTANCE' | 'BATCH'
export type ReadOp = 'GET_MACHINE' | 'LIST_MACHINES' | 'GET_INSTANCE' | 'LIST_INSTANCES' | 'VALIDATE_MACHINE' | 'GET_DIAGRAM'

/** What a write produces before the WAL has numbered it. */
export interface Decision {
  /** 0..n entries; empty when nothing is written (identical re-put, repeated delete, idempotent replay) */
  entries: WalEntry[]
  /** true when `entries` must be written as one atomic group (atomic BATCH) */
  group: boolean
  /**
   * Builds the op's result once the WAL has assigned `sequences[i]` to `entries[i]`
   * (and `apply` has run for each). `walOffset` is the highest offset the request
   * wrote, else the highest offset its result reports (0 if none): the response
   * waits for that offset's commit and reports it as meta.wal_offset.
   */
  finish: (sequences: number[]) => { result: JsonObject, walOffset: number, replayed?: boolean }
}

/** Immutable: a write replaces the record object, never mutates it (storage.md §6 frozen views). */
export interface MachineRecord {
  readonly machine: string
  readonly version: number
  readonly definition: NormalizedDefinition
  readonly checksum: string
}

export interface InstanceRecord {
  readonly id: string
  readonly machine: string
  readonly version: number
  readonly state: string
  readonly ctx: JsonObject
  readonly last_event_id: string | null
  readonly last_wal_offset: number
  readonly created_at: number
  readonly updated_at: number
  readonly deleted: boolean
}

export type IdempotencyOp = 'CREATE_INSTANCE' | 'APPLY_EVENT' | 'DELETE_INSTANCE'

export interface IdempotencyRecord {
  readonly op: IdempotencyOp
  readonly scope_kind: 'instance' | 'machine'
  readonly scope: string
  readonly key: string
  readonly sequence: number
  readonly ts: number
  readonly result: JsonObject
  /** the request's fingerprint (rcp.md §9); records from before fingerprints have none and match any request */
  readonly fingerprint?: string
}

/** The lines of a full snapshot between header and trailer (storage.md §6), in file order. */
export type SnapshotLine =
  | ({ t: 'machine' } & MachineRecord)
  | ({ t: 'instance' } & InstanceRecord)
  | ({ t: 'idem' } & IdempotencyRecord)

export interface EngineStats {
  machines: number
  instances: number
  tombstones: number
  idempotency: number
}

export interface Engine {
  /** Throws RcpError. Params have passed the protocol schema already. Does not change state. */
  decide: (op: WriteOp, params: JsonObject) => Decision
  /** Applies one WAL entry with its sequence: the live write path and recovery both call it. */
  apply: (entry: WalEntry, sequence: number) => void
  /** Throws RcpError. */
  read: (op: ReadOp, params: JsonObject) => JsonObject
  getInstance: (id: string) => InstanceRecord | undefined
  stats: () => EngineStats
  /**
   * A frozen view for a full snapshot, taken synchronously: machines sorted by
   * (name, version), instances sorted by id with tombstones, idem records sorted
   * by sequence (expired ones are pruned as later keys are recorded, not here, so the
   * view depends on the entries applied only). Walking it later is unaffected by writes.
   */
  snapshotLines: () => Iterable<SnapshotLine>
  /** Loads one line of a full snapshot during recovery. */
  restore: (line: SnapshotLine) => void
}
