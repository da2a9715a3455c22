import { Type, type TArray, type TSchema, type TString, type TUnsafe } from '@sinclair/typebox'

/**
 * Building blocks shared by the op, envelope and event schemas. Every schema here is
 * plain JSON Schema (no `$id`, no custom keywords or formats) so Fastify's Ajv and the
 * OpenAPI document can use it as is.
 */

/** Largest safe JSON integer (rcp.md §4.1, §5). */
export const MAX_SAFE_INT = Number.MAX_SAFE_INTEGER

/** Names and ids are 1–256 bytes of UTF-8 (rcp.md §4.1 "limits"). */
export const MAX_NAME_BYTES = 256

/** Largest machine version (rcp.md §6.5). */
export const MAX_MACHINE_VERSION = 4_294_967_295

/**
 * Marks a string schema whose value must be 1–256 bytes of UTF-8. JSON Schema can only
 * bound characters, so the schema says maxLength 256 (never looser than 256 bytes) and
 * validateParams adds the byte check wherever it finds this marker. A symbol key never
 * reaches JSON, so the emitted schema stays standard.
 */
export const NAME_BYTES: unique symbol = Symbol('rstmdb.nameBytes')

export function isNameSchema (schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && (schema as Record<symbol, unknown>)[NAME_BYTES] === true
}

/** True when `value` is 1–256 bytes of UTF-8. */
export function isName (value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && fitsNameBytes(value)
}

/** At most 256 bytes of UTF-8. A UTF-16 unit never takes more than 3 bytes, so short strings skip the count. */
export function fitsNameBytes (value: string): boolean {
  if (value.length <= 85) return true
  return value.length <= MAX_NAME_BYTES && Buffer.byteLength(value, 'utf8') <= MAX_NAME_BYTES
}

export function Name (description: string, examples?: string[]): TString {
  const schema = Type.String({ minLength: 1, maxLength: MAX_NAME_BYTES, description, ...(examples ? { examples } : {}) })
  // enumerable, like TypeBox's own symbol keys, so a schema clone keeps the marker
  return Object.assign(schema, { [NAME_BYTES]: true })
}

/** An integer from `minimum` to 2^53−1 unless a narrower range is given. */
export const Int = (options: { minimum?: number, maximum?: number, description?: string, default?: number, examples?: number[] } = {}) =>
  Type.Integer({ minimum: 0, maximum: MAX_SAFE_INT, ...options })

export const WalOffset = (description: string) => Int({ description, examples: [42] })

/** Unix milliseconds. */
export const UnixMs = (description: string) => Int({ description, examples: [1736937000000] })

/**
 * Any JSON object, kept whole (ctx, payload, definition, details). TypeBox types an
 * object without properties as `{}`; clients (the SDK) see it as the record it is.
 */
export const JsonObject = (description: string, examples?: Array<Record<string, unknown>>) =>
  Type.Object({}, { additionalProperties: true, description, ...(examples ? { examples } : {}) }) as TSchema as TUnsafe<Record<string, unknown>>

/** Any JSON value (definition and transition `meta`). */
export const JsonValue = (description: string) => Type.Unknown({ description })

/**
 * An optional param that may also be sent as `null`; validateParams treats `null` as
 * absent (rcp.md §6.8 initial_ctx, §6.12 payload; the same rule for every optional param).
 */
export function OptionalParam<T extends TSchema> (schema: T, options: { default?: unknown } = {}) {
  return Type.Optional(Type.Union([schema, Type.Null()], options))
}

export const StringList = <T extends TSchema = TString>(description: string, item: T = Type.String() as TSchema as T): TArray<T> =>
  Type.Array(item, { description })
