import type { TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parseAddress } from '../../protocol/address.js'
import { fail, named } from './errors.js'
import { valueSchema, type Form, type KeySchema } from './keys.js'

/**
 * Reads a raw value (from YAML, or env text) into a key's value: each form turns text into
 * the value's type, then the key's schema checks it, and a failure says what the schema
 * expects (its range, its words, its pattern) and what was given.
 */

type Reader = (raw: unknown, schema: TSchema) => unknown

export function show (raw: unknown): string {
  return typeof raw === 'string' ? `'${raw}'` : JSON.stringify(raw)
}

export function isMapping (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function checked<T> (schema: TSchema, value: T, raw: unknown, expects: string): T {
  return Value.Check(schema, value) ? value : fail(`${expects}, got ${show(raw)}`)
}

/** Decimal digits only (no sign, fraction, exponent or hex), or a YAML number. */
function integer (raw: unknown, schema: TSchema): number {
  const n = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw
  const { minimum, maximum } = schema
  const range = maximum === Number.MAX_SAFE_INTEGER ? `>= ${minimum}` : `from ${minimum} to ${maximum}`
  return checked(schema, n as number, raw, `expected an integer ${range}`)
}

const TRUE = new Set(['true', '1', 'yes', 'on'])
const FALSE = new Set(['false', '0', 'no', 'off'])

function boolean (raw: unknown, schema: TSchema): boolean {
  const word = typeof raw === 'string' || typeof raw === 'number' ? String(raw).trim().toLowerCase() : ''
  const value = TRUE.has(word) ? true : FALSE.has(word) ? false : raw
  return checked(schema, value as boolean, raw, 'expected true/false, 1/0, yes/no or on/off')
}

function text (raw: unknown, schema: TSchema): string {
  const value = typeof raw === 'string' ? raw.trim() : raw
  return checked(schema, value as string, raw, schema.expects ?? 'expected a non-empty string')
}

function choice (raw: unknown, schema: TSchema): string {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw
  const words = (schema.anyOf as TSchema[]).map((member) => member.const as string)
  return checked(schema, value as string, raw, `expected one of ${words.join(', ')}`)
}

function address (raw: unknown, schema: TSchema): unknown {
  if (typeof raw !== 'string') return fail(`expected host:port, got ${show(raw)}`)
  return checked(schema, parseAddress(raw), raw, 'expected host:port or [ipv6]:port with a port from 0 to 65535')
}

/** A YAML list of strings, or a comma-separated string (the env form); blank entries are dropped. */
function strings (raw: unknown): string[] {
  const items = typeof raw === 'string' ? raw.split(',') : raw
  if (!Array.isArray(items) || !items.every((item) => typeof item === 'string')) {
    return fail('expected a list of strings or a comma-separated string')
  }
  return items.map((item) => item.trim()).filter((item) => item !== '')
}

/** Entries are checked by the list's item schema and never echoed: a pasted token, a URL with a password. */
function list (raw: unknown, schema: TSchema, read = listEntry): string[] {
  return strings(raw).map((entry, i) => named(`entry ${i + 1}`, () => read(entry, schema.items)))
}

function listEntry (entry: string, item: TSchema): string {
  return Value.Check(item, entry) ? entry : fail(item.expects)
}

/** Token hashes are lowercased (config.md §3). */
export function tokenHash (entry: string, item: TSchema): string {
  return listEntry(entry.toLowerCase(), item)
}

/** `every_write`/`everywrite`, `never`, `every_n:N`, `every_ms:N` (any case) or a one-key mapping `{every_n: N}`. */
function fsyncPolicy (raw: unknown, schema: TSchema): unknown {
  let form: string | undefined
  let count: unknown
  if (isMapping(raw) && Object.keys(raw).length === 1) {
    [[form, count]] = Object.entries(raw)
  } else if (typeof raw === 'string') {
    const match = /^(\w+)(?:\s*:\s*(\S+))?$/.exec(raw.trim().toLowerCase())
    form = match?.[1]
    count = match?.[2]
  }
  const kind = form === 'everywrite' ? 'every_write' : form
  const policy = (schema.anyOf as TSchema[]).find((member) => member.properties.kind.const === kind)
  // the policy's count field (n, ms) if it has one: a count is given exactly when it does
  const field = policy === undefined ? undefined : Object.keys(policy.properties).find((key) => key !== 'kind')
  if (policy !== undefined && (field === undefined) === (count === undefined)) {
    const name: string = policy.properties.kind.const
    return field === undefined ? { kind: name } : { kind: name, [field]: named(name, () => integer(count, policy.properties[field])) }
  }
  return fail(`expected every_write, every_n:N, every_ms:N, never, {every_n: N} or {every_ms: N} with N >= 1, got ${show(raw)}`)
}

const READERS: Record<Form, Reader> = {
  integer,
  boolean,
  text,
  path: text,
  choice,
  address,
  list: (raw, schema) => list(raw, schema),
  token_hashes: (raw, schema) => list(raw, schema, tokenHash),
  fsync_policy: fsyncPolicy
}

/** The value of a key read from `raw`, or a ConfigError saying what was expected. */
export function readKey (schema: KeySchema, raw: unknown): unknown {
  return READERS[schema.form](raw, valueSchema(schema))
}
