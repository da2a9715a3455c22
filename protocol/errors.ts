/**
 * The 16 RCP error codes (rcp.md §11). No other code may ever reach a client:
 * the official clients fail to parse unknown codes.
 */
export const ERROR_CODES = [
  'UNSUPPORTED_PROTOCOL',
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'AUTH_FAILED',
  'NOT_FOUND',
  'MACHINE_NOT_FOUND',
  'MACHINE_VERSION_EXISTS',
  'MACHINE_VERSION_LIMIT_EXCEEDED',
  'INSTANCE_NOT_FOUND',
  'INSTANCE_EXISTS',
  'INVALID_TRANSITION',
  'GUARD_FAILED',
  'CONFLICT',
  'WAL_IO_ERROR',
  'INTERNAL_ERROR',
  'RATE_LIMITED',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['WAL_IO_ERROR', 'INTERNAL_ERROR', 'RATE_LIMITED'])

export function isRetryable (code: ErrorCode): boolean {
  return RETRYABLE.has(code)
}

export function isErrorCode (value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value)
}

export type ErrorDetails = Record<string, unknown>

/** The wire shape of an error (rcp.md §4.2); `details` is left out when empty. */
export interface ErrorBody {
  code: ErrorCode
  message: string
  retryable: boolean
  details?: ErrorDetails
}

/** The one error class that crosses the dispatcher; each face maps it to its own envelope. */
export class RcpError extends Error {
  readonly code: ErrorCode
  readonly retryable: boolean
  readonly details: ErrorDetails

  constructor (code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message)
    this.name = 'RcpError'
    this.code = code
    this.retryable = isRetryable(code)
    this.details = details
  }

  toJSON (): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message, retryable: this.retryable }
    if (Object.keys(this.details).length > 0) body.details = this.details
    return body
  }
}

/** Any thrown value as an RcpError: unexpected failures become INTERNAL_ERROR without leaking internals. */
export function toRcpError (err: unknown): RcpError {
  if (err instanceof RcpError) return err
  return new RcpError('INTERNAL_ERROR', 'internal error')
}

export const badRequest = (message: string, details: ErrorDetails = {}): RcpError =>
  new RcpError('BAD_REQUEST', message, details)

/**
 * Why a write or a read could not be served now (cluster.md §2–§4): all are WAL_IO_ERROR,
 * retryable, with `details.reason`; REST answers them 503 with Retry-After.
 */
export const UNAVAILABLE_REASONS = ['leadership_lost', 'no_leader', 'replica_behind'] as const
export type UnavailableReason = (typeof UNAVAILABLE_REASONS)[number]

export const unavailable = (reason: UnavailableReason, message: string, details: ErrorDetails = {}): RcpError =>
  new RcpError('WAL_IO_ERROR', message, { reason, ...details })

/** The reason of an error made by `unavailable`, else null. */
export function unavailableReason (error: RcpError): UnavailableReason | null {
  const reason = error.details.reason
  return error.code === 'WAL_IO_ERROR' && (UNAVAILABLE_REASONS as readonly unknown[]).includes(reason) ? reason as UnavailableReason : null
}
