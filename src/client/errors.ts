import { isErrorCode, RcpError, type ErrorBody } from '../../protocol/errors.js'

/**
 * Codes of failures the client detects itself (cli.md §4): the network, a reply it cannot
 * read, a bad argument, or a subscription the server ended while resuming is off.
 */
export type ClientErrorCode = 'CONNECTION_FAILED' | 'TIMEOUT' | 'PROTOCOL_ERROR' | 'INVALID_ARGUMENT' | 'SUBSCRIPTION_ENDED'

/** A request that was sent may or may not have run: only these are worth retrying (with an idempotency key for writes). */
const RETRYABLE: ReadonlySet<ClientErrorCode> = new Set<ClientErrorCode>(['CONNECTION_FAILED', 'TIMEOUT', 'SUBSCRIPTION_ENDED'])

/** The JSON shape of a client error, like a server error body but with a client code. */
export interface ClientErrorBody {
  code: ClientErrorCode
  message: string
  retryable: boolean
  details?: Record<string, unknown>
}

export class ClientError extends Error {
  readonly code: ClientErrorCode
  readonly retryable: boolean
  readonly details: Record<string, unknown>

  constructor (code: ClientErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message)
    this.name = 'ClientError'
    this.code = code
    this.retryable = RETRYABLE.has(code)
    this.details = details
  }

  toJSON (): ClientErrorBody {
    const body: ClientErrorBody = { code: this.code, message: this.message, retryable: this.retryable }
    if (Object.keys(this.details).length > 0) body.details = this.details
    return body
  }
}

/** A server error response as the protocol's RcpError; an unknown code means the reply itself is broken (rcp.md §11). */
export function serverError (body: unknown): RcpError | ClientError {
  const error = body as Partial<ErrorBody> | undefined
  if (error === undefined || error === null || !isErrorCode(error.code)) {
    return new ClientError('PROTOCOL_ERROR', `malformed error response: ${JSON.stringify(body)}`)
  }
  const details = typeof error.details === 'object' && error.details !== null ? error.details : {}
  return new RcpError(error.code, String(error.message ?? ''), details)
}

/** One line: OpenSSL messages carry a code dump and a newline, their `reason` is the useful part. */
export function socketReason (err: Error & { reason?: unknown }): string {
  if (typeof err.reason === 'string' && err.reason !== '') return `TLS error: ${err.reason}`
  return err.message.replace(/\s+/g, ' ').trim()
}
