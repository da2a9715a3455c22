import { createHash } from 'node:crypto'

/**
 * Canonical JSON (rcp.md §7): JSON.stringify without whitespace, object keys at
 * every depth in ascending UTF-16 code-unit order, arrays in their order.
 */
export function canonicalJson (value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v
    // null prototype: a "__proto__" key from JSON.parse must stay an ordinary key
    const sorted: Record<string, unknown> = Object.create(null)
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k]
    return sorted
  })
}

export function sha256Hex (data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Lowercase hex SHA-256 of the canonical JSON: machine checksums and per-instance snapshot checksums. */
export function canonicalChecksum (value: unknown): string {
  return sha256Hex(canonicalJson(value))
}
