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

/** Nesting depth of a JSON value (a scalar is 0, `{}` is 1), stopping once it passes `limit`. */
export function jsonDepth (value: unknown, limit: number = MAX_JSON_DEPTH): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number]
    if (v === null || typeof v !== 'object') continue
    const depth = d + 1
    if (depth > deepest) {
      deepest = depth
      if (deepest > limit) return deepest
    }
    if (Array.isArray(v)) {
      for (const item of v) if (item !== null && typeof item === 'object') stack.push([item, depth])
    } else {
      for (const k in v) {
        const item = (v as Record<string, unknown>)[k]
        if (item !== null && typeof item === 'object') stack.push([item, depth])
      }
    }
  }
  return deepest
}

/** Throws BAD_REQUEST when `value` nests deeper than MAX_JSON_DEPTH. */
export function checkJsonDepth (value: unknown, field: string): void {
  if (value === null || typeof value !== 'object') return
  if (jsonDepth(value) > MAX_JSON_DEPTH) {
    throw badRequest(`${field} nests deeper than ${MAX_JSON_DEPTH} levels`, { field, reason: 'too_deep', limit: MAX_JSON_DEPTH })
  }
}

/**
 * UTF-8 size of an entry's JSON, exact only when it could pass the cap: a UTF-16 unit is at
 * most 3 bytes, so short payloads skip the byte count.
 */
export function recordSize (entry: unknown): number {
  const json = JSON.stringify(entry)
  return json.length * 3 <= MAX_RECORD_PAYLOAD ? json.length : Buffer.byteLength(json, 'utf8')
}

/** Throws BAD_REQUEST record_too_large when the WAL record for `entry` would pass the cap (rcp.md §5). */
export function checkRecordSize (entry: unknown): number {
  const size = recordSize(entry)
  if (size > MAX_RECORD_PAYLOAD) {
    throw badRequest(`WAL record too large: ${size} bytes (limit ${MAX_RECORD_PAYLOAD})`, { reason: 'record_too_large', size, limit: MAX_RECORD_PAYLOAD })
  }
  return size
}
