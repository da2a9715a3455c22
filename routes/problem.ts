import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ERROR_CODES, RcpError, toRcpError, unavailableReason, type ErrorCode } from '../protocol/errors.js'
import { JsonObject } from '../protocol/schemas.js'

/**
 * RCP errors as application/problem+json (RFC 9457, http.md "Errors"): `code`,
 * `retryable` and `details` are the RCP error's own, the status follows the table.
 */

export const PROBLEM_TYPE = 'application/problem+json'

/** Retry-After of the retryable refusals that pass within a moment (429; 503 with a cluster reason) */
const RETRY_AFTER_SECS = '1'

const STATUS: Record<ErrorCode, number> = {
  UNSUPPORTED_PROTOCOL: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  AUTH_FAILED: 401,
  NOT_FOUND: 404,
  MACHINE_NOT_FOUND: 404,
  INSTANCE_NOT_FOUND: 404,
  MACHINE_VERSION_EXISTS: 409,
  INSTANCE_EXISTS: 409,
  CONFLICT: 409,
  INVALID_TRANSITION: 422,
  GUARD_FAILED: 422,
  MACHINE_VERSION_LIMIT_EXCEEDED: 422,
  RATE_LIMITED: 429,
  WAL_IO_ERROR: 503,
  INTERNAL_ERROR: 500,
}

/**
 * The HTTP status of an RCP error: its code's, except a reused idempotency key, which the
 * IETF Idempotency-Key draft answers with 422 (the request cannot be processed as sent).
 */
export function statusOf (error: RcpError): number {
  if (error.code === 'CONFLICT' && error.details.reason === 'idempotency_key_reused') return 422
  return STATUS[error.code]
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
  retryable: boolean
  details?: Record<string, unknown>
}

/** 'INVALID_TRANSITION' → 'Invalid transition' */
function titleOf (code: ErrorCode): string {
  const words = code.toLowerCase().replace(/_/g, ' ')
  return words[0].toUpperCase() + words.slice(1)
}

export function problemOf (error: RcpError, status = statusOf(error)): Problem {
  const body: Problem = {
    type: `https://rstmdb.dev/errors/${error.code}`,
    title: titleOf(error.code),
    status,
    detail: error.message,
    code: error.code,
    retryable: error.retryable,
  }
  if (Object.keys(error.details).length > 0) body.details = error.details
  return body
}

/** An RcpError answered with another status than the table's: 412 for a CONFLICT that came from If-Match. */
export class StatusError extends Error {
  constructor (readonly error: RcpError, readonly status: number) {
    super(error.message)
  }
}

interface FastifyLikeError {
  statusCode?: number
  code?: string
  message?: string
  validation?: Array<{ instancePath: string, params?: Record<string, unknown>, message?: string }>
  validationContext?: string
}

/** Fastify's own 4xx answers, as reasons a client can act on rather than Fastify's internal error codes. */
const FRAMEWORK_REASONS: Record<number, string> = {
  413: 'body_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
}

const PARTS: Record<string, string> = { params: 'path', querystring: 'query', headers: 'header' }

/** 'querystring' + '/limit' → 'limit'; a missing property is named by itself. */
function validationField (err: FastifyLikeError): string {
  const first = err.validation?.[0]
  if (first === undefined) return err.validationContext ?? 'request'
  const missing = first.params?.missingProperty
  const path = first.instancePath.split('/').slice(1).filter(s => s !== '')
  if (typeof missing === 'string') path.push(missing)
  return path.length > 0 ? path.join('.') : (err.validationContext ?? 'request')
}

/**
 * Any error a route, a hook or Fastify itself raised, as an RcpError and its
 * HTTP status: RcpErrors map by code, Fastify's own 4xx (validation, 404, 413,
 * 415, malformed JSON) become BAD_REQUEST or NOT_FOUND with their own status,
 * and anything else is INTERNAL_ERROR with no internals in the body.
 */
export function classify (err: unknown): { error: RcpError, status: number } {
  if (err instanceof RcpError) return { error: err, status: statusOf(err) }
  if (err instanceof StatusError) return { error: err.error, status: err.status }
  const e = (err ?? {}) as FastifyLikeError
  if (e.validation !== undefined) {
    const field = validationField(e)
    const where = e.validationContext === undefined ? '' : `${PARTS[e.validationContext] ?? e.validationContext} `
    return { error: new RcpError('BAD_REQUEST', `invalid ${where}param ${field}: ${e.validation[0]?.message ?? 'invalid'}`, { field }), status: 400 }
  }
  const status = e.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code: ErrorCode = status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST'
    const reason = FRAMEWORK_REASONS[status]
    return { error: new RcpError(code, e.message ?? 'bad request', reason === undefined ? {} : { reason }), status }
  }
  return { error: toRcpError(err), status: 500 }
}

export const ProblemSchema = Type.Object({
  type: Type.String({ examples: ['https://rstmdb.dev/errors/INVALID_TRANSITION'] }),
  title: Type.String({ examples: ['Invalid transition'] }),
  status: Type.Integer({ examples: [422] }),
  detail: Type.String({ examples: ["no transition from 'shipped' on event 'PAY'"] }),
  code: Type.Union(ERROR_CODES.map(c => Type.Literal(c)), { description: 'the RCP error code' }),
  retryable: Type.Boolean(),
  details: Type.Optional(JsonObject('the RCP error details; left out when empty', [{ current_state: 'shipped', event: 'PAY' }])),
}, { description: 'RFC 9457 problem details carrying the RCP error' })

const DESCRIPTIONS: Record<number, string> = {
  400: 'BAD_REQUEST: invalid path, query, header or body',
  401: 'UNAUTHORIZED (no token) or AUTH_FAILED (wrong token)',
  403: 'a browser page of another origin may not open this stream',
  404: 'not found',
  409: 'conflict with the stored state',
  412: 'CONFLICT: If-Match did not match last_wal_offset',
  413: 'body larger than http.body_limit',
  415: 'unsupported Content-Type',
  422: 'the state machine refused the request, or an idempotency key was reused for a different request',
  426: 'not a WebSocket upgrade',
  500: 'INTERNAL_ERROR',
  503: 'WAL_IO_ERROR: the WAL failed or the server is still recovering; in cluster mode also no_leader, leadership_lost or replica_behind in details.reason, with Retry-After',
}

/** The code a status usually carries; a route names a more precise one where it has it. */
const DEFAULT_CODES: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  412: 'CONFLICT',
  413: 'BAD_REQUEST',
  415: 'BAD_REQUEST',
  422: 'INVALID_TRANSITION',
  426: 'BAD_REQUEST',
  500: 'INTERNAL_ERROR',
  503: 'WAL_IO_ERROR',
}

/** The message and details of each example, as the server would answer. */
const SAMPLES: Record<number, Partial<Record<ErrorCode, [string, Record<string, unknown>]>>> = {
  400: { BAD_REQUEST: ['invalid body param version: Expected integer', { field: 'version' }] },
  401: { UNAUTHORIZED: ['authentication required', {}] },
  403: { UNAUTHORIZED: ["origin 'https://elsewhere.example' may not open this stream", { reason: 'origin_not_allowed', origin: 'https://elsewhere.example' }] },
  404: {
    NOT_FOUND: ['no route for GET /v1/nowhere', {}],
    INSTANCE_NOT_FOUND: ['instance not found: order-9', { instance_id: 'order-9' }],
    MACHINE_NOT_FOUND: ['machine not found: order version 3', { machine: 'order', version: 3 }],
  },
  409: {
    CONFLICT: ['state conflict on order-1: expected created, actual paid', { instance_id: 'order-1', expected_state: 'created', actual_state: 'paid' }],
    INSTANCE_EXISTS: ['instance already exists: order-1', { instance_id: 'order-1', deleted: false }],
    MACHINE_VERSION_EXISTS: ['machine version already exists with a different definition: order version 1', { machine: 'order', version: 1, stored_checksum: 'e26bd76d2d47a0e33a2aa0515665f980072d3734d466edfbee31be3c6c311446' }],
  },
  412: { CONFLICT: ['offset conflict on order-1: expected 41, actual 42', { instance_id: 'order-1', expected_offset: 41, actual_offset: 42 }] },
  413: { BAD_REQUEST: ['Request body is too large', { reason: 'body_too_large' }] },
  415: { BAD_REQUEST: ['Unsupported Media Type: text/plain', { reason: 'unsupported_media_type' }] },
  422: {
    INVALID_TRANSITION: ['no transition for event SHIP from state created', { instance_id: 'order-1', current_state: 'created', event: 'SHIP' }],
    MACHINE_VERSION_LIMIT_EXCEEDED: ['machine version limit exceeded: order has 10 versions (limit 10)', { machine: 'order', limit: 10, versions: 10 }],
    CONFLICT: ['idempotency key pay-1 was already used for a different request', { reason: 'idempotency_key_reused', idempotency_key: 'pay-1' }],
  },
  426: { BAD_REQUEST: ['this route needs a WebSocket upgrade', { reason: 'upgrade_required' }] },
  500: { INTERNAL_ERROR: ['internal error', {}] },
  503: { WAL_IO_ERROR: ['recovering', {}] },
}

/** Registered once with the app (`app.addSchema`) and referenced by every error response. */
export const PROBLEM_SCHEMA_ID = 'Problem'

/**
 * Response schemas of the given error statuses, for a route's `schema.response`, each with an
 * example of that status (a `[status, code]` pair names the route's own code for it).
 */
export function problems (...statuses: Array<number | [number, ErrorCode]>): Record<number, unknown> {
  const out: Record<number, unknown> = {}
  for (const item of statuses) {
    const [status, code] = typeof item === 'number' ? [item, DEFAULT_CODES[item]] : item
    const [detail, details] = SAMPLES[status]?.[code] ?? [titleOf(code), {}]
    out[status] = {
      description: DESCRIPTIONS[status],
      content: { [PROBLEM_TYPE]: { schema: { $ref: `${PROBLEM_SCHEMA_ID}#` }, example: problemOf(new RcpError(code, detail, details), status) } },
    }
  }
  return out
}

declare module 'fastify' {
  interface FastifyRequest {
    /** RCP code of the error answered, for metrics */
    errorCode: string | null
  }
}

/** Answers any error as a problem: the one place HTTP errors are written. */
export function sendProblem (request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const { error, status } = classify(err)
  request.errorCode = error.code
  if (status >= 500) request.log.error({ err }, 'request failed')
  if (status === 401) reply.header('www-authenticate', error.code === 'AUTH_FAILED' ? 'Bearer error="invalid_token"' : 'Bearer')
  // rate limited, or a cluster node without a leader, behind, or that just lost leadership: try again shortly
  if (status === 429 || unavailableReason(error) !== null) reply.header('retry-after', RETRY_AFTER_SECS)
  return reply.code(status).type(PROBLEM_TYPE).send(problemOf(error, status))
}

/** Strips the WebSocket token from a URL before it is shown anywhere. */
export function loggableUrl (url: string): string {
  return url.replace(/([?&]access_token=)[^&]*/g, '$1[redacted]')
}

/** Every error of the app, unknown routes included, as application/problem+json (http.md "Errors"). */
export const problemPlugin = fp(async (app) => {
  app.decorateRequest('errorCode', null)
  app.addSchema({ ...ProblemSchema, $id: PROBLEM_SCHEMA_ID })
  app.setErrorHandler((err, request, reply) => sendProblem(request, reply, err))
  app.setNotFoundHandler((request, reply) => sendProblem(request, reply,
    new RcpError('NOT_FOUND', `no route for ${request.method} ${loggableUrl(request.url.split('?')[0])}`)))
}, { name: 'rstmdb-problem' })
