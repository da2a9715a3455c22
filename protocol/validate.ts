import { Kind, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { Errors, ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import type { JsonObject } from './entries.js'
import { RcpError, type ErrorDetails } from './errors.js'
import { fitsNameBytes, isName, isNameSchema, MAX_NAME_BYTES, MAX_SAFE_INT } from './schemas/common.js'
import { isOpName, OPS, type OpName } from './schemas/registry.js'

/**
 * Param and envelope validation (rcp.md §4.1). Both run for every request, so the
 * success path is one compiled TypeBox check plus a few property reads; TypeBox's
 * error walk only runs to describe a failure.
 */

interface CompiledOp {
  check: TypeCheck<TSchema>
  /** keys holding a name: 1–256 bytes, which JSON Schema cannot say */
  names: string[]
  /** keys holding an array of names */
  nameLists: string[]
  /** optional keys: an explicit null is removed */
  optional: string[]
  defaults: Array<[string, unknown]>
}

function compile (params: TSchema): CompiledOp {
  const compiled: CompiledOp = { check: TypeCompiler.Compile(params), names: [], nameLists: [], optional: [], defaults: [] }
  const required = new Set<string>(params.required ?? [])
  for (const [key, prop] of Object.entries<TSchema>(params.properties ?? {})) {
    const inner = withoutNull(prop)
    if (isNameSchema(inner)) compiled.names.push(key)
    if (inner[Kind] === 'Array' && isNameSchema(inner.items)) compiled.nameLists.push(key)
    if (!required.has(key)) compiled.optional.push(key)
    if (prop.default !== undefined) compiled.defaults.push([key, prop.default])
  }
  return compiled
}

// compiled on first use: a CLI process that never validates should not pay for every schema
const COMPILED = new Map<string, CompiledOp>()

function compiledFor (op: string): CompiledOp | undefined {
  let compiled = COMPILED.get(op)
  if (compiled === undefined && isOpName(op)) COMPILED.set(op, compiled = compile(OPS[op].params))
  return compiled
}

/**
 * Validates `params` of `op`. Returns them with `null` (or absent) params turned into
 * `{}`, every optional param that was `null` removed (null means absent) and defaults
 * applied. The input is never mutated: a shallow copy is made only when something
 * changes. Throws RcpError BAD_REQUEST naming the first bad param in `details.field`
 * (`ops[2].params`-style paths for nested values; BATCH items add `batch_index`), or
 * `details.op` for an unknown op. BATCH sub-op params are left to the caller, which
 * validates each with validateParams(subOp, params).
 */
export function validateParams (op: string, params: unknown): JsonObject {
  const compiled = compiledFor(op)
  if (compiled === undefined) throw new RcpError('BAD_REQUEST', `unknown op: ${String(op)}`, { op })
  if (params === null || params === undefined) params = {}
  if (!compiled.check.Check(params)) throw paramError(compiled.check, params)
  const value = params as JsonObject
  for (const key of compiled.names) {
    const v = value[key]
    if (typeof v === 'string' && !isName(v)) throw nameError(key, v)
  }
  for (const key of compiled.nameLists) {
    const list = value[key]
    if (!Array.isArray(list)) continue
    for (let i = 0; i < list.length; i++) {
      if (!isName(list[i])) throw nameError(`${key}[${i}]`, list[i] as string)
    }
  }
  return withDefaults(compiled, value)
}

function withDefaults (compiled: CompiledOp, value: JsonObject): JsonObject {
  let out: JsonObject | undefined
  for (const key of compiled.optional) {
    if (value[key] === null) {
      out ??= { ...value }
      delete out[key]
    }
  }
  for (const [key, def] of compiled.defaults) {
    if (value[key] === undefined || value[key] === null) {
      out ??= { ...value }
      out[key] = freshDefault(def)
    }
  }
  return out ?? value
}

/** Defaults are flat ([] or {} at most), so a shallow copy keeps callers from sharing them. */
function freshDefault (def: unknown): unknown {
  if (Array.isArray(def)) return [...def]
  if (typeof def === 'object' && def !== null) return { ...def }
  return def
}

/** Only strings reach here: the compiled check has passed. */
function nameError (field: string, value: string): RcpError {
  const bytes = Buffer.byteLength(value, 'utf8')
  return new RcpError('BAD_REQUEST', `invalid param ${field}: must be 1–${MAX_NAME_BYTES} bytes of UTF-8 (got ${bytes} bytes)`, { field })
}

/** An optional param is Union([T, Null]) (its default sits on the union): T. */
function withoutNull (schema: TSchema): TSchema {
  const members: TSchema[] | undefined = schema.anyOf
  if (members?.length !== 2) return schema
  return members.find((m) => m[Kind] !== 'Null') ?? schema
}

/** TypeBox stops at a failed union; look inside Union([T, Null]) so `machines[1]` is named, not `machines`. */
function innermost (error: ValueError): ValueError {
  const inner = withoutNull(error.schema)
  if (error.type !== ValueErrorType.Union || inner === error.schema) return error
  const sub = Errors(inner, [], error.value).First()
  return sub === undefined ? error : innermost({ ...sub, path: error.path + sub.path })
}

function paramError (check: TypeCheck<TSchema>, params: unknown): RcpError {
  const first = check.Errors(params).First()
  if (first === undefined) return new RcpError('BAD_REQUEST', 'invalid params', { field: 'params' })
  const error = innermost(first)
  const segments = error.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (segments.length === 0) return new RcpError('BAD_REQUEST', 'params must be an object', { field: 'params' })
  const field = fieldPath(segments)
  const details: ErrorDetails = { field }
  if (segments[0] === 'ops') {
    // BATCH structure (rcp.md §6.13): the first bad item, or item 100 when there are too many
    if (segments.length > 1) details.batch_index = Number(segments[1])
    else if (error.type === ValueErrorType.ArrayMaxItems) details.batch_index = error.schema.maxItems
  }
  return new RcpError('BAD_REQUEST', describeError(field, error), details)
}

/** ['ops', '2', 'params'] → 'ops[2].params' */
function fieldPath (segments: string[]): string {
  let out = segments[0]
  for (let i = 1; i < segments.length; i++) {
    out += /^\d+$/.test(segments[i]) ? `[${segments[i]}]` : `.${segments[i]}`
  }
  return out
}

function describeError (field: string, error: ValueError): string {
  if (error.type === ValueErrorType.ObjectRequiredProperty) return `missing required param: ${field}`
  return `invalid param ${field}: must be ${describe(error.schema)}`
}

/** A short English phrase for what a schema accepts, for error messages. */
function describe (schema: TSchema): string {
  switch (schema[Kind]) {
    case 'Union': {
      const members: TSchema[] = schema.anyOf
      if (members.every((m) => m[Kind] === 'Literal')) return `one of ${members.map((m) => JSON.stringify(m.const)).join(', ')}`
      return members.map(describe).join(' or ')
    }
    case 'Literal': return JSON.stringify(schema.const)
    case 'Integer': return describeInteger(schema)
    case 'String': return isNameSchema(schema) ? `a string of 1–${MAX_NAME_BYTES} bytes of UTF-8` : 'a string'
    case 'Boolean': return 'a boolean'
    case 'Null': return 'null'
    case 'Array': return schema.maxItems === undefined ? `an array of ${plural(describe(schema.items))}` : `an array of at most ${schema.maxItems} items`
    case 'Object': return 'an object'
    default: return 'valid'
  }
}

function describeInteger (schema: TSchema): string {
  const { minimum, maximum } = schema
  if (minimum === undefined && maximum === undefined) return 'an integer'
  if (maximum === undefined || maximum === MAX_SAFE_INT) return `an integer ≥ ${minimum}`
  return `an integer from ${minimum ?? 0} to ${maximum}`
}

function plural (phrase: string): string {
  return phrase.replace(/^an? (\w+)/, '$1s')
}

/** A request envelope that passed §4.1. `params` is `{}` when absent or null; op params are not checked yet. */
export interface ValidRequest {
  id: string
  op: OpName
  params: JsonObject
  trace_id?: string
}

/**
 * BAD_REQUEST for a message whose envelope is unusable. `id` is what the response
 * must echo ("" when the request had no usable id) and `traceId` the request's
 * trace_id when it was valid, so the face can answer without looking at the message again.
 */
export class EnvelopeError extends RcpError {
  readonly id: string
  readonly traceId: string | undefined

  constructor (id: string, message: string, details: ErrorDetails, traceId?: string) {
    super('BAD_REQUEST', message, details)
    this.name = 'EnvelopeError'
    this.id = id
    this.traceId = traceId
  }
}

/**
 * Checks the request envelope (rcp.md §4.1) in this order: message is an object, id,
 * trace_id, type, op, params. Unknown envelope fields are ignored. Throws EnvelopeError.
 */
export function validateEnvelope (message: unknown): ValidRequest {
  if (!isJsonObject(message)) throw new EnvelopeError('', 'message must be a JSON object', { reason: 'not_an_object' })
  const { id, op, type, params, trace_id: traceId } = message
  if (!isName(id)) {
    const why = id === undefined ? 'missing request id' : 'id must be a string of 1–256 bytes of UTF-8'
    throw new EnvelopeError('', why, { field: 'id' })
  }
  if (traceId !== undefined && traceId !== null && (typeof traceId !== 'string' || !fitsNameBytes(traceId))) {
    throw new EnvelopeError(id, 'trace_id must be a string of at most 256 bytes of UTF-8', { field: 'trace_id' })
  }
  const trace = typeof traceId === 'string' ? traceId : undefined
  if (type !== undefined && type !== 'request') {
    throw new EnvelopeError(id, 'type must be "request"', { field: 'type' }, trace)
  }
  if (typeof op !== 'string') {
    throw new EnvelopeError(id, op === undefined ? 'missing op' : 'op must be a string', { field: 'op' }, trace)
  }
  if (!isOpName(op)) throw new EnvelopeError(id, `unknown op: ${op}`, { op }, trace)
  if (params !== undefined && params !== null && !isJsonObject(params)) {
    throw new EnvelopeError(id, 'params must be an object', { field: 'params' }, trace)
  }
  const request: ValidRequest = { id, op, params: params ?? {} }
  if (trace !== undefined) request.trace_id = trace
  return request
}

export function isJsonObject (value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
