/**
 * WAL entry payloads (storage.md §3). The engine produces them, the WAL stores them
 * byte for byte as JSON, recovery feeds them back to the engine, and WAL_READ returns
 * them unchanged. Optional fields are left out when absent.
 */
export type JsonObject = { [key: string]: unknown }

export interface NormalizedTransition {
  from: string[]
  event: string
  to: string
  guard?: string
  meta?: unknown
}

export interface NormalizedDefinition {
  states: string[]
  initial: string
  transitions: NormalizedTransition[]
  meta?: unknown
}

export interface PutMachineEntry {
  type: 'put_machine'
  machine: string
  version: number
  definition_hash: string
  definition: NormalizedDefinition
  ts: number
}

export interface CreateInstanceEntry {
  type: 'create_instance'
  instance_id: string
  machine: string
  version: number
  initial_state: string
  initial_ctx: JsonObject
  idempotency_key?: string
  /** rcp.md §9: SHA-256 of the request the key was first used with */
  idempotency_fingerprint?: string
  instance_id_generated?: boolean
  ts: number
}

export interface ApplyEventEntry {
  type: 'apply_event'
  instance_id: string
  machine: string
  version: number
  event: string
  from_state: string
  to_state: string
  payload: JsonObject | null
  ctx: JsonObject
  event_id?: string
  idempotency_key?: string
  idempotency_fingerprint?: string
  ts: number
}

export interface DeleteInstanceEntry {
  type: 'delete_instance'
  instance_id: string
  idempotency_key?: string
  idempotency_fingerprint?: string
  ts: number
}

export interface SnapshotEntry {
  type: 'snapshot'
  instance_id: string
  snapshot_id: string
  state: string
  ctx: JsonObject
  ts?: number
}

export interface CheckpointEntry {
  type: 'checkpoint'
  timestamp: number
  /** cluster mode's term entry (cluster.md §3): the leader term it starts, and its node */
  term?: number
  node_id?: string
  ts?: number
}

export type WalEntry =
  | PutMachineEntry
  | CreateInstanceEntry
  | ApplyEventEntry
  | DeleteInstanceEntry
  | SnapshotEntry
  | CheckpointEntry

export type EntryType = WalEntry['type']

/** Record type bytes of storage.md §2 (255 = noop: never written, skipped on read). */
export const ENTRY_TYPE_CODES: Readonly<Record<EntryType, number>> = {
  put_machine: 1,
  create_instance: 2,
  apply_event: 3,
  delete_instance: 4,
  snapshot: 5,
  checkpoint: 6,
}

/** Largest WAL record payload (rcp.md §5): any record, its event and a WAL_READ of it fit in 16 MiB. */
export const MAX_RECORD_PAYLOAD = 16 * 1024 * 1024 - 64 * 1024

/** Largest RCP message payload (rcp.md §1). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024
