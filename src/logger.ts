import { pino, type DestinationStream, type Logger } from 'pino'
import type { LoggingSection } from './config.js'

export type { Logger } from 'pino'

// Bearer tokens arrive as `token` (RCP AUTH params) or an `authorization` header, up to two levels deep
// (e.g. req.headers.authorization): they never reach the log.
const REDACT = ['authorization', 'token', '*.authorization', '*.token', '*.*.authorization', '*.*.token']

/** A pino logger writing one JSON object per line (`timestamp`, `level`, `message`, fields) or a pretty line. */
export function createLogger ({ level, format }: LoggingSection, destination: DestinationStream = pino.destination(1)): Logger {
  return pino({
    level,
    base: null,
    messageKey: 'message',
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT, censor: '[redacted]' }
  }, format === 'pretty' ? prettyStream(destination) : destination)
}

/** Rewrites each JSON line as `HH:MM:SS.mmm LEVEL message key=value…` (UTC), with an error's stack below. */
function prettyStream (destination: DestinationStream): DestinationStream {
  return {
    write (chunk: string) {
      destination.write(chunk.split('\n').filter((line) => line !== '').map(prettyLine).join(''))
    }
  }
}

function prettyLine (line: string): string {
  const { timestamp, level, message, err, ...fields } = JSON.parse(line) as Record<string, unknown>
  const parts = [
    typeof timestamp === 'string' ? timestamp.slice(11, 23) : '',
    String(level).toUpperCase().padEnd(5),
    typeof message === 'string' ? message : ''
  ]
  const stack = typeof err === 'object' && err !== null && 'stack' in err && typeof err.stack === 'string' ? err.stack : undefined
  if (err !== undefined && stack === undefined) fields.err = err
  for (const [key, value] of Object.entries(fields)) parts.push(`${key}=${showValue(value)}`)
  const head = parts.filter((part) => part !== '').join(' ')
  return stack === undefined ? `${head}\n` : `${head}\n    ${stack.split('\n').join('\n    ')}\n`
}

function showValue (value: unknown): string {
  return typeof value === 'string' && /^[^\s="]*$/.test(value) && value !== '' ? value : JSON.stringify(value)
}
