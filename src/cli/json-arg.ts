import { readFileSync } from 'node:fs'
import { ClientError } from '../client/index.js'

/**
 * A JSON argument (`<DEFINITION>`, `--ctx`, `--payload`): inline JSON, or `@path` to read
 * the file (cli.md §1). Bad JSON or an unreadable file is INVALID_ARGUMENT (exit 1).
 */
export function readJsonArgument (raw: string, label: string): unknown {
  let text = raw
  if (raw.startsWith('@')) {
    const path = raw.slice(1)
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      throw new ClientError('INVALID_ARGUMENT', `cannot read ${label} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ClientError('INVALID_ARGUMENT', `invalid JSON in ${label}: ${(err as Error).message}`)
  }
}
