import { randomUUID } from 'node:crypto'
import type { JsonObject, WalEntry } from '../../protocol/entries.js'
import { badRequest, RcpError, toRcpError } from '../../protocol/errors.js'
import { MAX_RECORD_PAYLOAD } from '../../protocol/entries.js'
import { validateParams } from '../../protocol/schemas.js'
import { entryScope, scopeKey, storedResult, type Scope } from './idempotency.js'
import { nextRecord, type InstanceEntry } from './instances.js'
import { recordSize } from './limits.js'
import { isPlainObject, opt, type Plan, type Replay, type SeqOf, type View } from './plans.js'
import type { InstanceRecord } from './types.js'
import { planApply, planCreate, planDelete } from './writes.js'

/** BATCH (rcp.md §6.13): ops decided in order on a private overlay so later ops see earlier ones. */

const MAX_BATCH_OPS = 100
const BATCH_OPS = new Set(['CREATE_INSTANCE', 'APPLY_EVENT', 'DELETE_INSTANCE'])
type BatchOp = 'CREATE_INSTANCE' | 'APPLY_EVENT' | 'DELETE_INSTANCE'

interface Item {
  op: BatchOp
  params: JsonObject
}

function checkStructure (ops: unknown): Item[] {
  if (!Array.isArray(ops)) throw badRequest('ops must be an array', { field: 'ops' })
  if (ops.length > MAX_BATCH_OPS) {
    throw badRequest(`ops has ${ops.length} items (max ${MAX_BATCH_OPS})`, { field: 'ops', batch_index: MAX_BATCH_OPS })
  }
  ops.forEach((item: unknown, i: number) => {
    if (!isPlainObject(item) || typeof item.op !== 'string' || !BATCH_OPS.has(item.op)) {
      throw badRequest(`ops[${i}].op must be one of CREATE_INSTANCE, APPLY_EVENT, DELETE_INSTANCE`, { field: `ops[${i}].op`, batch_index: i })
    }
    if (!isPlainObject(item.params)) {
      throw badRequest(`ops[${i}].params must be an object`, { field: `ops[${i}].params`, batch_index: i })
    }
  })
  return ops as Item[]
}

/** The engine's memory with this batch's effects laid over it; entries get predicted sequences. */
function overlay (base: View, firstSequence: number, now: number): { view: View, absorb: (entries: WalEntry[]) => void } {
  const instances = new Map<string, InstanceRecord>()
  const pending = new Map<string, WalEntry>()
  const replays = new Map<string, Replay>()
  let sequence = firstSequence
  const view: View = {
    instance: (id) => instances.get(id) ?? base.instance(id),
    pendingEntry: (id) => pending.get(id),
    replay: (scope: Scope, key: string) => replays.get(scopeKey(scope, key)) ?? base.replay(scope, key),
    machine: base.machine,
  }
  const absorb = (entries: WalEntry[]): void => {
    for (const e of entries) {
      const entry = e as InstanceEntry
      const next = nextRecord(view.instance(entry.instance_id), entry, sequence++, now)
      if (next) instances.set(next.id, next)
      pending.set(entry.instance_id, entry)
      if (entry.idempotency_key !== undefined) {
        replays.set(scopeKey(entryScope(entry), entry.idempotency_key), {
          result: (seqOf: SeqOf) => storedResult(entry, seqOf(entry)),
          offset: (seqOf: SeqOf) => seqOf(entry),
          fingerprint: entry.idempotency_fingerprint,
        })
      }
    }
  }
  return { view, absorb }
}

type Slot = { plan: Plan } | { error: RcpError }

/**
 * `nextSequence` predicts the sequences the batch's entries will get (the engine's last
 * applied + 1 onwards); only `expected_wal_offset` checks inside the batch rely on it.
 */
export function planBatch (base: View, params: JsonObject, ts: number, nextSequence: number): Plan & { group: boolean } {
  const mode = opt<string>(params, 'mode') ?? 'best_effort'
  if (mode !== 'best_effort' && mode !== 'atomic') {
    throw badRequest('mode must be "best_effort" or "atomic"', { field: 'mode' })
  }
  const items = checkStructure(params.ops)
  const atomic = mode === 'atomic'
  // ids first (rcp.md §6.13 step 1): creates without instance_id
  const ids = items.map((item) => item.op === 'CREATE_INSTANCE' && opt(item.params, 'instance_id') === undefined ? randomUUID() : undefined)
  const { view, absorb } = overlay(base, nextSequence, ts)
  const slots: Slot[] = []
  items.forEach((item, i) => {
    try {
      const p = validateParams(item.op, item.params)
      const plan = item.op === 'CREATE_INSTANCE'
        ? planCreate(view, p, ts, ids[i])
        : item.op === 'APPLY_EVENT' ? planApply(view, p, ts) : planDelete(view, p, ts)
      absorb(plan.entries)
      slots.push({ plan })
    } catch (err) {
      const e = toRcpError(err)
      if (atomic) {
        throw new RcpError(e.code, `atomic batch failed at op ${i} (${item.op}): ${e.message}`, { ...e.details, batch_index: i, batch_op: item.op })
      }
      slots.push({ error: e })
    }
  })
  const entries: WalEntry[] = []
  let bytes = 0
  for (const slot of slots) {
    if ('plan' in slot) {
      entries.push(...slot.plan.entries)
      bytes += slot.plan.bytes
    }
  }
  // the response carries every result; entry sizes bound it from above. Plans report upper
  // bounds, so only a sum past the cap needs the exact sizes.
  if (bytes > MAX_RECORD_PAYLOAD) bytes = entries.reduce((sum, entry) => sum + recordSize(entry), 0)
  if (bytes > MAX_RECORD_PAYLOAD) {
    throw badRequest(`batch too large: ${bytes} bytes (limit ${MAX_RECORD_PAYLOAD})`, { reason: 'record_too_large', size: bytes, limit: MAX_RECORD_PAYLOAD })
  }
  return {
    entries,
    bytes,
    group: atomic && entries.length > 0,
    build: (seqOf) => {
      let walOffset = 0
      const results = slots.map((slot) => {
        if ('error' in slot) return { status: 'error', result: null, error: slot.error.toJSON() }
        const outcome = slot.plan.build(seqOf)
        if (entries.length === 0) walOffset = Math.max(walOffset, outcome.walOffset)
        return { status: 'ok', result: outcome.result, error: null }
      })
      for (const entry of entries) walOffset = Math.max(walOffset, seqOf(entry))
      return { result: { results }, walOffset }
    },
  }
}
