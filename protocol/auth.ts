import { createHash } from 'node:crypto'

/**
 * The token hash both sides agree on (rcp.md §6.2): lowercase hex SHA-256 of the UTF-8
 * token. The server compares AUTH tokens against configured hashes of this form, and
 * `rstmdb-cli hash-token` prints it for the config.
 */
export function hashToken (token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}
