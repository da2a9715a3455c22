import { Kind, Type, type TNull, type TObject, type TOptional, type TProperties, type TSchema, type TUnion } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { JsonObject } from '../protocol/entries.js'
import { RcpError } from '../protocol/errors.js'
import { isJsonObject, MIN_OFFSET_OPS, MinOffset, type OpName, type OpResult } from '../protocol/schemas.js'
import type { OpOutcome } from '../src/ops/index.js'
import type { AppContext, HttpServices } from './context.js'

/** Helpers every REST route shares: calling the dispatcher and mapping headers to params. */

export function servicesOf (ctx: AppContext): HttpServices {
  const services = ctx.services()
  if (services === null) throw new RcpError('WAL_IO_ERROR', 'recovering')
  return services
}

/** Runs one op through the shared dispatcher; the RCP meta.wal_offset travels as X-Wal-Offset. */
export async function run<K extends OpName> (ctx: AppContext, reply: FastifyReply, op: K, params: JsonObject): Promise<OpOutcome<OpResult<K>>> {
  const minOffset = reply.request.headers['x-min-wal-offset']
  if (minOffset !== undefined && MIN_OFFSET_OPS.has(op)) params.min_offset = minOffset
  for (const key of Object.keys(params)) if (params[key] === undefined) delete params[key]
  const outcome = await servicesOf(ctx).dispatch(op, params, { connections: ctx.connections() })
  reply.header('x-wal-offset', outcome.walOffset)
  return outcome
}

/** `run`, answering with the result. */
export async function dispatch<K extends OpName> (ctx: AppContext, reply: FastifyReply, op: K, params: JsonObject): Promise<OpResult<K>> {
  return (await run(ctx, reply, op, params)).result
}

/**
 * The request body as an op's params. Fastify does not validate bodies (see
 * src/gateway.ts): the dispatcher validates them with the protocol schemas, so
 * types are never coerced. An optional body may be empty.
 */
export function bodyParams (request: FastifyRequest, optional = false): JsonObject {
  const body = request.body
  if ((body === undefined || body === null) && optional) return {}
  if (!isJsonObject(body)) throw new RcpError('BAD_REQUEST', 'request body must be a JSON object', { field: 'body' })
  return { ...body }
}

/** A value from outside the body that gives the same param as a body field: used when alone, 400 when they differ. */
function mergeOutside (params: JsonObject, field: string, source: string, reason: string, value: unknown): void {
  if (value === undefined) return
  const given = params[field]
  if (given !== undefined && given !== null && given !== value) {
    throw new RcpError('BAD_REQUEST', `${source} and body field ${field} differ`, { field, reason })
  }
  params[field] = value
}

/** A header that gives the same param as a body field (http.md). */
export function mergeHeader (params: JsonObject, field: string, header: string, value: unknown): void {
  mergeOutside(params, field, `${header} header`, 'header_body_mismatch', value)
}

/** A query parameter that gives the same param as a body field (`?dry_run=true`). */
export function mergeQuery (params: JsonObject, field: string, value: unknown): void {
  mergeOutside(params, field, `query parameter ${field}`, 'query_body_mismatch', value)
}

/** `If-Match: "<n>"` → n. `*`, weak tags and lists are refused: they cannot name one offset. */
export function parseIfMatch (value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const match = /^\s*"(\d{1,16})"\s*$/.exec(value)
  const offset = match === null ? NaN : Number(match[1])
  if (!Number.isSafeInteger(offset)) {
    throw new RcpError('BAD_REQUEST', 'If-Match must be one strong entity tag holding a WAL offset, e.g. "42"', { field: 'if-match' })
  }
  return offset
}

/**
 * A param schema as a path, query or header value: Union([T, Null]) → T (they have no null), and
 * no `examples` or `default`, which Swagger UI would send as if the user had typed them.
 */
export function asParam<T extends TSchema> (schema: T): T {
  const members: TSchema[] | undefined = schema.anyOf
  const inner = members?.length === 2 && members.some(m => m[Kind] === 'Null')
    ? { ...members.find(m => m[Kind] !== 'Null') as TSchema, description: schema.description ?? members.find(m => m[Kind] !== 'Null')?.description }
    : schema
  const { examples: _examples, default: _default, ...rest } = inner
  return rest as T
}

/** What `pick` makes of a param at the type level: null removed; optional unless required. */
type Picked<S extends TSchema, Required extends boolean> =
  S extends TUnion<infer M> ? Picked<Exclude<M[number], TNull>, Required>
    : Required extends true ? S : TOptional<S>

/** The named params of an op schema as a querystring/path schema: same types, no nulls, no defaults. */
export function pick<T extends TProperties, K extends keyof T & string, R extends K = never> (
  schema: TObject<T>, keys: K[], required: R[] = []
): TObject<{ [P in K]: Picked<T[P], P extends R ? true : false> }> {
  const properties: Record<string, TSchema> = {}
  for (const key of keys) {
    const prop = asParam(schema.properties[key])
    properties[key] = (required as string[]).includes(key) ? prop : Type.Optional(prop)
  }
  // the loop builds exactly the mapped type above
  return Type.Object(properties) as TObject<{ [P in K]: Picked<T[P], P extends R ? true : false> }>
}

/** Header schema of every read route (routes/plugins/request.ts declares it): read-your-writes. */
export const MinOffsetHeader = Type.Object({
  'x-min-wal-offset': Type.Optional(asParam(MinOffset)),
})

/** Header schema: `Idempotency-Key` (and other optional headers) as strings. */
export const IdempotencyHeader = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'becomes idempotency_key: a repeat with the same request answers the stored result' })),
})

export const BEARER = [{ bearerAuth: [] as string[] }]

export interface NamedExample {
  summary: string
  value: unknown
}

/**
 * A body schema with named examples (OpenAPI media `examples`): Swagger UI offers them in its
 * body editor instead of a sample built from the schema (`"additionalProp1": {}`).
 */
export function withExamples<T extends TSchema> (schema: T, examples: Record<string, NamedExample>): T {
  const { examples: _examples, ...rest } = schema
  return { ...rest, 'x-examples': examples } as unknown as T
}

/** Header schema of conditional GETs. */
export const IfNoneMatchHeader = Type.Object({
  'if-none-match': Type.Optional(Type.String({ description: 'an ETag from an earlier response: 304 while it still matches' })),
})

/** The 304 of a conditional GET, for a route's `schema.response`. */
export const NotModified = { 304: { description: 'not modified: If-None-Match still matches the ETag', type: 'null' } }

/**
 * Sets the ETag and tells whether If-None-Match already names it (RFC 9110 §13.1.2:
 * weak comparison, `*` matches any), in which case the route answers 304 with no body.
 */
export function etagMatches (request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('etag', etag)
  const header = request.headers['if-none-match']
  if (header === undefined) return false
  if (header.trim() === '*') return true
  const strip = (tag: string): string => tag.trim().replace(/^W\//, '')
  return header.split(',').some(tag => strip(tag) === strip(etag))
}
