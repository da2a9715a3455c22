import {
  Kind, Type, type TArray, type TBoolean, type TInteger, type TLiteral, type TNull, type TObject, type TSchema,
  type TString, type TUnion
} from '@sinclair/typebox'
import { parseAddress } from '../../protocol/address.js'

/**
 * Builders for the keys of the config schema. Each returns a plain TypeBox schema of the
 * loaded value (what `Static<>` types), carrying as data what the loader needs besides:
 * its `default` (a valid value of the schema), its `RSTMDB_*` variable and how text is read
 * into it (`form`).
 */

/** How a raw value (YAML or env text) is read; config/read.ts has one reader per form. */
export type Form = 'integer' | 'boolean' | 'text' | 'path' | 'choice' | 'address' | 'list' | 'token_hashes' | 'fsync_policy'

export interface KeyMeta {
  /** The RSTMDB_* variable that sets the key. */
  env: string
  /** The env value is appended to the file's list instead of replacing it. */
  envAppends?: boolean
  /** Read when `env` is unset, if its value is valid for this key. */
  envFallback?: string
  /** Never logged: the startup log only says whether it is set. */
  secret?: boolean
  /** Name in the startup log, for keys logged as a count. */
  logAs?: string
}

/** A key's schema with the loader's metadata. */
export type KeySchema = TSchema & KeyMeta & { form: Form, default: unknown }

/** A string key's own rule, beyond non-empty: the pattern and how to say it in an error. */
export interface TextRule { pattern: string, expects: string }

// setTimeout fires at once for delays beyond 2^31-1 ms, so timer settings stay below it.
export const MAX_TIMER_MS = 2 ** 31 - 1

export function Int (options: KeyMeta & { default: number, minimum: number, maximum?: number }): TInteger {
  return Type.Integer({ maximum: Number.MAX_SAFE_INTEGER, ...options, form: 'integer' })
}

export function Bool (options: KeyMeta & { default: boolean }): TBoolean {
  return Type.Boolean({ ...options, form: 'boolean' })
}

/** A trimmed non-empty string; with no default the key is unset (null) unless given. */
export function Text (options: KeyMeta & { default: string, rule?: TextRule }): TString
export function Text (options: KeyMeta & { rule?: TextRule }): TUnion<[TString, TNull]>
export function Text (options: KeyMeta & { default?: string, rule?: TextRule }): TSchema {
  return stringKey('text', options)
}

/** A file or directory; resolved against the working directory when loaded. */
export function Path (options: KeyMeta & { default: string }): TString
export function Path (options: KeyMeta): TUnion<[TString, TNull]>
export function Path (options: KeyMeta & { default?: string }): TSchema {
  return stringKey('path', options)
}

function stringKey (form: Form, { rule, ...options }: KeyMeta & { default?: string, rule?: TextRule }): TSchema {
  const constraints = { minLength: 1, ...rule }
  if (options.default !== undefined) return Type.String({ ...constraints, ...options, form })
  return Type.Union([Type.String(constraints), Type.Null()], { ...options, default: null, form })
}

/** One of a few lowercase words; the value is read case-insensitively. */
export function OneOf<const T extends readonly [string, ...string[]]> (values: T, options: KeyMeta & { default: T[number] }): TUnion<Array<TLiteral<T[number]>>> {
  return Type.Union(values.map((value) => Type.Literal(value)), { ...options, form: 'choice' })
}

export type TAddress = TObject<{ host: TString, port: TInteger }>

/** `host:port` or `[ipv6]:port`, loaded as `{host, port}`; the default is given as text. */
export function Address (options: KeyMeta & { default: string }): TAddress {
  return Type.Object({
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 0, maximum: 65535 })
  }, { ...options, default: parseAddress(options.default), form: 'address' })
}

/** A YAML list of strings or, in env, a comma-separated string; blank entries are dropped. */
export function List (options: KeyMeta & { default: string[], rule?: TextRule }): TArray<TString> {
  const { rule, ...meta } = options
  return Type.Array(Type.String({ minLength: 1, ...rule }), { ...meta, form: 'list' })
}

/** Lowercase hex SHA-256 hashes of tokens; entries are lowercased and never echoed in errors. */
export function TokenHashes (options: KeyMeta & { default: string[] }): TArray<TString> {
  const hash = Type.String({
    pattern: '^[0-9a-f]{64}$',
    expects: 'expected a 64-character hex SHA-256 hash (see `rstmdb-cli hash-token`)'
  })
  return Type.Array(hash, { ...options, form: 'token_hashes' })
}

/** storage.md §4: `every_write`, `{every_n: N}`, `{every_ms: N}` or `never` (config.md §2.1 for the text forms). */
export function FsyncPolicy (options: KeyMeta & { default: { kind: 'every_write' | 'never' } }) {
  return Type.Union([
    Type.Object({ kind: Type.Literal('every_write') }),
    Type.Object({ kind: Type.Literal('every_n'), n: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
    Type.Object({ kind: Type.Literal('every_ms'), ms: Type.Integer({ minimum: 1, maximum: MAX_TIMER_MS }) }),
    Type.Object({ kind: Type.Literal('never') })
  ], { ...options, form: 'fsync_policy' })
}

export interface KeyEntry {
  /** `section.name`, as in config.md and in error messages */
  key: string
  section: string
  name: string
  schema: KeySchema
}

/** Every key of a schema of sections, in declaration order. */
export function keysOf (schema: TObject<Record<string, TObject>>): KeyEntry[] {
  return Object.entries(schema.properties).flatMap(([section, body]) =>
    Object.entries(body.properties).map(([name, key]) => ({ key: `${section}.${name}`, section, name, schema: key as KeySchema })))
}

/** The schema of the value a nullable key holds when set; the schema itself for other keys. */
export function valueSchema (schema: TSchema): TSchema {
  const members = schema.anyOf as TSchema[] | undefined
  const set = members?.some((member) => member[Kind] === 'Null') === true ? members.find((member) => member[Kind] !== 'Null') : undefined
  return set ?? schema
}
