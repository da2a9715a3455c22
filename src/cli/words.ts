import { ClientError } from '../client/index.js'

/**
 * A REPL line split into words as a POSIX shell would: whitespace separates words, single
 * quotes keep everything literally, double quotes keep everything but `\"` and `\\`, and a
 * backslash outside quotes escapes the next character. So JSON with spaces fits in one word:
 * `apply-event -i o-1 -e PAY -p '{"amount": 5}'`.
 */
export function splitWords (line: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | null = null
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (quote === "'") {
      if (ch === "'") quote = null
      else word += ch
    } else if (quote === '"') {
      if (ch === '"') quote = null
      else if (ch === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i]
      else word += ch
    } else if (ch === "'" || ch === '"') {
      quote = ch
      inWord = true
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i]
      inWord = true
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += ch
      inWord = true
    }
  }
  if (quote !== null) throw new ClientError('INVALID_ARGUMENT', `unterminated ${quote} quote`)
  if (inWord) words.push(word)
  return words
}
