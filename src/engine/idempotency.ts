import { canonicalJson, sha256Hex } from '../../protocol/canonical.js'
import type { JsonObject } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
import type { InstanceEntry } from './instances.js'
import type { IdempotencyOp, IdempotencyRecord } from './types.js'

/**
 * Idempotency table (rcp.md §9, storage.md §7). Keys come from WAL entries, so the live
 * path and recovery record them the same way. Map insertion order is sequence order
 * (entries are applied in sequence order; a re-recorded key moves to the end), so the
 * oldest record is always first.
 *
 * The table is a function of the entries applied and never of a clock, so replicas
 * applying the same entries hold the same table (cluster.md §1): adding a record prunes
 * against that record's own time, and snapshots take the table as it is. Only lookups,
 * which decide and change nothing, judge expiry against the decider's clock.
 */

export interface Scope {
  op: IdempotencyOp
  kind: 'instance' | 'machine'
  target: string
}

const OPS: Record<InstanceEntry['type'], IdempotencyOp> = {
  create_instance: 'CREATE_INSTANCE',
  apply_event: 'APPLY_EVENT',
  delete_instance: 'DELETE_INSTANCE',
}

/** The scope of the key an entry carries. */
export function entryScope (entry: InstanceEntry): Scope {
  if (entry.type === 'create_instance' && entry.instance_id_generated === true) {
    return { op: 'CREATE_INSTANCE', kind: 'machine', target: entry.machine }
  }
  return { op: OPS[entry.type], kind: 'instance', target: entry.instance_id }
}

/** Unambiguous map key: the target's length fences it off from the key. */
export const scopeKey = (scope: Scope, key: string): string =>
  `${scope.op}:${scope.kind}:${scope.target.length}:${scope.target}:${key}`

/** Params that say nothing about what the request does: left out of its fingerprint. */
const UNFINGERPRINTED = new Set(['idempotency_key', 'dry_run'])

/**
 * The fingerprint stored with a key (rcp.md §9): SHA-256 of the canonical JSON of the op
 * name and its params without the key, so a key reused for another request is caught.
 */
export function fingerprintOf (op: IdempotencyOp, params: JsonObject): string {
  const rest: JsonObject = {}
  for (const name of Object.keys(params)) if (!UNFINGERPRINTED.has(name) && params[name] !== undefined) rest[name] = params[name]
  return sha256Hex(canonicalJson({ op, params: rest }))
}

/** A stored key matched: the same request replays, another request is refused (nothing is written either way). */
export function checkFingerprint (stored: string | undefined, fingerprint: string, key: string): void {
  if (stored === undefined || stored === fingerprint) return
  throw new RcpError('CONFLICT', `idempotency key ${key} was already used for a different request`, {
    reason: 'idempotency_key_reused', idempotency_key: key,
  })
}

/** The result stored for a keyed write (rcp.md §9), derived from its entry and sequence. */
export function storedResult (entry: InstanceEntry, sequence: number): JsonObject {
  switch (entry.type) {
    case 'create_instance':
      return { instance_id: entry.instance_id, state: entry.initial_state, wal_offset: sequence }
    case 'apply_event': {
      const result: JsonObject = {
        from_state: entry.from_state, to_state: entry.to_state, ctx: entry.ctx, wal_offset: sequence, applied: false,
      }
      if (entry.event_id !== undefined) result.event_id = entry.event_id
      return result
    }
    case 'delete_instance':
      return { instance_id: entry.instance_id, deleted: true, wal_offset: sequence }
  }
}

export interface IdempotencyOptions {
  ttlSecs: number
  maxKeys: number
  warn: (message: string, fields?: Record<string, unknown>) => void
}

const WARN_INTERVAL_MS = 60_000

export class IdempotencyTable {
  private readonly records = new Map<string, IdempotencyRecord>()
  private lastWarn = -Infinity

  constructor (private readonly options: IdempotencyOptions) {}

  get size (): number {
    return this.records.size
  }

  private expired (record: IdempotencyRecord, now: number): boolean {
    return now - record.ts >= this.options.ttlSecs * 1000
  }

  /** The record for a key live at `now`, or undefined when unknown or expired. Never changes the table. */
  lookup (scope: Scope, key: string, now: number): IdempotencyRecord | undefined {
    const record = this.records.get(scopeKey(scope, key))
    return record && !this.expired(record, now) ? record : undefined
  }

  add (record: IdempotencyRecord): void {
    const k = scopeKey({ op: record.op, kind: record.scope_kind, target: record.scope }, record.key)
    this.records.delete(k)
    this.records.set(k, record)
    this.prune(record.ts)
  }

  /** Drops records expired at `now` from the old end, then the oldest beyond the bound. */
  private prune (now: number): void {
    for (const [k, r] of this.records) {
      if (!this.expired(r, now)) break
      this.records.delete(k)
    }
    let dropped = 0
    while (this.records.size > this.options.maxKeys) {
      const oldest = this.records.keys().next().value as string
      this.records.delete(oldest)
      dropped++
    }
    if (dropped > 0 && now - this.lastWarn >= WARN_INTERVAL_MS) {
      this.lastWarn = now
      this.options.warn('idempotency key bound reached: dropping oldest keys', { max_keys: this.options.maxKeys, dropped })
    }
  }

  /** Every record in sequence order: a frozen view taken now. */
  sortedRecords (): IdempotencyRecord[] {
    return [...this.records.values()].sort((a, b) => a.sequence - b.sequence)
  }
}
