import type { JsonObject, WalEntry } from '../../protocol/entries.js'
import type { InstanceRecord } from './types.js'
import type { CompiledMachine } from './machines.js'
import type { Scope } from './idempotency.js'

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
}

/** The state a write is decided against: the engine's memory, or a batch overlay on top of it. */
export interface View {
  instance: (id: string) => InstanceRecord | undefined
  /** the entry of this batch that last changed the instance, if any */
  pendingEntry: (id: string) => WalEntry | undefined
  replay: (scope: Scope, key: string) => Replay | undefined
  machine: (name: string, version: number) => CompiledMachine | undefined
}

export const replayPlan = (hit: Replay): Plan => ({
  entries: [],
  bytes: 0,
  build: (seqOf) => ({ result: hit.result(seqOf), walOffset: hit.offset(seqOf), replayed: true }),
})

/** Optional params also accept null, which means absent. */
export function opt<T> (params: JsonObject, name: string): T | undefined {
  const v = params[name]
  return v === null || v === undefined ? undefined : v as T
}

export const isPlainObject = (v: unknown): v is JsonObject =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
