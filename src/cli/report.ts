import { usageFor } from './args.js'
import { ConnectError, describe, errorBody, UsageError } from './errors.js'
import { styleFor } from './style.js'

/** How a failure is printed and which exit code it gives (cli.md §4, §6). */

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export function writeLine (stream: NodeJS.WriteStream, line: string): void {
  stream.write(line + '\n')
}

/** One line on stderr (plus the usage for a usage error in human mode); returns the exit code. */
export function reportError (err: unknown, json: boolean): number {
  const code = err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE
  if (json) {
    writeLine(process.stderr, JSON.stringify({ error: errorBody(err) }))
    return code
  }
  const s = styleFor(process.stderr)
  if (err instanceof ConnectError) {
    writeLine(process.stderr, `${s.red('Connection failed')}: ${err.message}`)
  } else {
    writeLine(process.stderr, `${s.red('Error')}: ${describe(err)}`)
  }
  if (err instanceof UsageError) writeLine(process.stderr, '\n' + usageFor(err.command))
  return code
}
