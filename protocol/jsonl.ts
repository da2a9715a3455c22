import { MAX_MESSAGE_BYTES } from './entries.js'

/** `jsonl` mode (rcp.md §2.2): one compact JSON object per line. */

/** Longest inbound line, without its `\n`. */
export const MAX_LINE_BYTES = MAX_MESSAGE_BYTES

/**
 * One line: compact JSON and `\n`. A string is taken as JSON that is already
 * serialized (shared event bodies). JSON.stringify escapes every control character,
 * so the line never holds a raw newline.
 */
export function encodeJsonlLine (message: object | string): Buffer {
  const text = typeof message === 'string' ? message : JSON.stringify(message)
  return Buffer.from(text + '\n', 'utf8')
}
