import type { JsonObject, WalEntry } from '../../protocol/entries.js'
import type { InstanceRecord } from './types.js'
import type { CompiledMachine } from './machines.js'
import { checkFingerprint, fingerprintOf, type Scope } from './idempotency.js'

/**
 * A decided write before the WAL numbers it. `build` gets each entry's sequence through
 * `seqOf`, so a batch can resolve results that refer to entries of earlier ops.
 */
export type SeqOf = (entry: WalEntry) => number

export interface Outcome {
  result: JsonObject
  walOffset: number
  /** the stored result of an earlier request with the same idempotency key */
  replayed?: boolean
}

export interface Plan {
  entries: WalEntry[]
  /** UTF-8 size of the entries (exact near the record cap) */
  bytes: number
  build: (seqOf: SeqOf) => Outcome
}

/** A stored result found for an idempotency key. */
export interface Replay {
  result: (seqOf: SeqOf) => JsonObject
  offset: (seqOf: SeqOf) => number
  /** the fingerprint stored with the key, if any */
  fingerprint: string | undefined
}

/** The state a write is decided against: the engine's memory, or a batch overlay on top of it. */
export interface View {
  instance: (id: string) => InstanceRecord | undefined
  /** the entry of this batch that last changed the instance, if any */
  pendingEntry: (id: string) => WalEntry | undefined
  replay: (scope: Scope, key: string) => Replay | undefined
  machine: (name: string, version: number) => CompiledMachine | undefined
}

/** A request's idempotency key and fingerprint, to store in its entry; `replay` when the key was used before. */
export interface Keyed {
  key: string
  fingerprint: string
  replay?: Plan
}

/**
 * The lookup of rcp.md §9, right after param validation: nothing when the request has no key;
 * the replay of the stored result for the same request; CONFLICT for a different one.
 */
export function keyed (view: View, scope: Scope, params: JsonObject): Keyed | undefined {
  const key = opt<string>(params, 'idempotency_key')
  if (key === undefined) return undefined
  const fingerprint = fingerprintOf(scope.op, params)
  const hit = view.replay(scope, key)
  if (hit === undefined) return { key, fingerprint }
  checkFingerprint(hit.fingerprint, fingerprint, key)
  return {
    key,
    fingerprint,
    replay: { entries: [], bytes: 0, build: (seqOf) => ({ result: hit.result(seqOf), walOffset: hit.offset(seqOf), replayed: true }) },
  }
}

/** Marks an entry with the request's key and fingerprint (storage.md §3). */
export function stamp (entry: { idempotency_key?: string, idempotency_fingerprint?: string }, k: Keyed | undefined): void {
  if (k === undefined) return
  entry.idempotency_key = k.key
  entry.idempotency_fingerprint = k.fingerprint
}

/** Optional params also accept null, which means absent. */
export function opt<T> (params: JsonObject, name: string): T | undefined {
  const v = params[name]
  return v === null || v === undefined ? undefined : v as T
}

export const isPlainObject = (v: unknown): v is JsonObject =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
