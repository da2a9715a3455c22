import { isErrorCode, RcpError, type ErrorBody } from '../../protocol/errors.js'

/** Codes of failures that happen on the client side (cli.md §4). */
export type ClientErrorCode = 'CONNECTION_FAILED' | 'TIMEOUT' | 'PROTOCOL_ERROR' | 'INVALID_ARGUMENT'

/** A failure the CLI detected itself: bad input, the network, or a broken reply. */
export class ClientError extends Error {
  readonly code: ClientErrorCode

  constructor (code: ClientErrorCode, message: string) {
    super(message)
    this.name = 'ClientError'
    this.code = code
  }

  /** the connection can no longer be used (the REPL then suggests `reconnect`) */
  get connectionLost (): boolean {
    return this.code === 'CONNECTION_FAILED'
  }
}

/** Failure to connect, handshake or authenticate: printed as `Connection failed: <reason>` (cli.md §6). */
export class ConnectError extends Error {
  readonly reason: ClientError | RcpError

  constructor (reason: ClientError | RcpError) {
    super(describe(reason))
    this.name = 'ConnectError'
    this.reason = reason
  }
}

/** Bad command line: exit 2 with usage on stderr. `command` picks which usage is printed. */
export class UsageError extends Error {
  readonly command: string | null

  constructor (message: string, command: string | null = null) {
    super(message)
    this.name = 'UsageError'
    this.command = command
  }
}

/** A server error response as an RcpError; an unknown code means the reply itself is broken. */
export function serverError (body: unknown): RcpError | ClientError {
  const error = body as Partial<ErrorBody> | undefined
  if (error === undefined || error === null || !isErrorCode(error.code)) {
    return new ClientError('PROTOCOL_ERROR', `malformed error response: ${JSON.stringify(body)}`)
  }
  const details = typeof error.details === 'object' && error.details !== null ? error.details : {}
  return new RcpError(error.code, String(error.message ?? ''), details)
}

/** The cause of a failure as one line, with the server's code when there is one. */
export function describe (err: unknown): string {
  if (err instanceof RcpError) return `server error: ${err.code} - ${err.message}`
  if (err instanceof ConnectError) return err.message
  if (err instanceof Error) return err.message
  return String(err)
}

const CLIENT_RETRYABLE: ReadonlySet<ClientErrorCode> = new Set<ClientErrorCode>(['CONNECTION_FAILED', 'TIMEOUT'])

/** The `--json` error object (cli.md §4). */
export function errorBody (err: unknown): ErrorBody | { code: ClientErrorCode, message: string, retryable: boolean } {
  const cause = err instanceof ConnectError ? err.reason : err
  if (cause instanceof RcpError) return cause.toJSON()
  if (cause instanceof ClientError) {
    return { code: cause.code, message: cause.message, retryable: CLIENT_RETRYABLE.has(cause.code) }
  }
  return { code: 'INVALID_ARGUMENT', message: describe(cause), retryable: false }
}

/** Whether the error means the connection is gone. */
export function isConnectionLost (err: unknown): boolean {
  return (err instanceof ClientError && err.connectionLost) || err instanceof ConnectError
}
