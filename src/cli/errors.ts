import { ClientError, RcpError, type ClientErrorBody } from '../client/index.js'
import type { ErrorBody } from '../../protocol/errors.js'

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

/** The cause of a failure as one line, with the server's code when there is one. */
export function describe (err: unknown): string {
  if (err instanceof RcpError) return `server error: ${err.code} - ${err.message}`
  if (err instanceof Error) return err.message
  return String(err)
}

/** The `--json` error object (cli.md §4): the server's error, a client error, or INVALID_ARGUMENT. */
export function errorBody (err: unknown): ErrorBody | ClientErrorBody {
  const cause = err instanceof ConnectError ? err.reason : err
  if (cause instanceof RcpError || cause instanceof ClientError) return cause.toJSON()
  return { code: 'INVALID_ARGUMENT', message: describe(cause), retryable: false }
}

/** Whether the error means the connection is gone (the REPL then suggests `reconnect`). */
export function isConnectionLost (err: unknown): boolean {
  return (err instanceof ClientError && err.code === 'CONNECTION_FAILED') || err instanceof ConnectError
}
