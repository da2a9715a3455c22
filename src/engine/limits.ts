import { badRequest } from '../../protocol/errors.js'
import { MAX_RECORD_PAYLOAD } from '../../protocol/entries.js'

/** Longest guard expression, in UTF-16 code units (rcp.md §7 rule 3). */
export const MAX_GUARD_LENGTH = 4096

/**
 * Deepest guard AST and bracket nesting. jsep and the checker recurse per level; this keeps
 * any guard far from the stack limit while allowing long `&&` chains (left-deep trees).
 */
export const MAX_GUARD_DEPTH = 256

/**
 * Deepest nesting of ctx, payload and meta values. Canonical JSON, deep equality and
 * JSON.stringify all recurse, so bounding the depth at write time keeps them safe.
 */
export const MAX_JSON_DEPTH = 64

/**
 * Nesting depth of a JSON value (a scalar is 0, `{}` is 1, capped at `limit` + 1) and an
 * upper bound on the UTF-8 size of its JSON (a UTF-16 unit never takes more than 6 bytes,
 * escaped). Recursion stops one level past `limit`, so the stack stays shallow.
 */
export function measureJson (value: unknown, limit: number = MAX_JSON_DEPTH): { depth: number, bytes: number } {
  deepest = 0
  const bytes = measure(value, 0, limit)
  // past the limit the walk stopped counting: no bound then
  return { depth: deepest, bytes: deepest > limit ? Infinity : bytes }
}

let deepest = 0

function measure (v: unknown, level: number, limit: number): number {
  if (typeof v === 'string') return 6 * v.length + 2
  if (v === null || typeof v !== 'object') return 24
  const depth = level + 1
  if (depth > deepest) deepest = depth
  if (depth > limit) return 0
  let bytes = 2
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) bytes += 1 + measure(v[i], depth, limit)
  } else {
    for (const k in v) bytes += 6 * k.length + 4 + measure((v as Record<string, unknown>)[k], depth, limit)
  }
  return bytes
}

/** Throws BAD_REQUEST when `value` nests deeper than MAX_JSON_DEPTH; returns its size bound. */
export function checkJson (value: unknown, field: string): number {
  const { depth, bytes } = measureJson(value)
  if (depth > MAX_JSON_DEPTH) {
    throw badRequest(`${field} nests deeper than ${MAX_JSON_DEPTH} levels`, { field, reason: 'too_deep', limit: MAX_JSON_DEPTH })
  }
  return bytes
}

/** Exact UTF-8 size of an entry's JSON. */
export const recordSize = (entry: unknown): number => Buffer.byteLength(JSON.stringify(entry), 'utf8')

/**
 * Throws BAD_REQUEST record_too_large when the WAL record for `entry` would pass the cap
 * (rcp.md §5). `bound` is an upper bound of its size when the caller knows one: below the
 * cap it saves serializing the entry on the hot path. Returns the size or the bound.
 */
export function checkRecordSize (entry: unknown, bound: number = Infinity): number {
  if (bound <= MAX_RECORD_PAYLOAD) return bound
  const size = recordSize(entry)
  if (size > MAX_RECORD_PAYLOAD) {
    throw badRequest(`WAL record too large: ${size} bytes (limit ${MAX_RECORD_PAYLOAD})`, { reason: 'record_too_large', size, limit: MAX_RECORD_PAYLOAD })
  }
  return size
}

/** Room for an entry's fields other than ctx and payload: a few names of ≤ 256 bytes, numbers, keys. */
export const ENTRY_OVERHEAD_BOUND = 16 * 1024
