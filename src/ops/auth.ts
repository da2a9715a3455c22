import { timingSafeEqual } from 'node:crypto'
import { hashToken } from '../../protocol/auth.js'
import { RcpError } from '../../protocol/errors.js'

export interface TokenChecker {
  /** true when hashes are configured: AUTH then checks them even if auth is not required */
  readonly configured: boolean
  readonly required: boolean
  /** throws AUTH_FAILED with the rcp.md §6.2 messages */
  verify: (method: unknown, token: unknown) => void
}

/** One checker serves RCP AUTH and the gateway's bearer tokens, so both compare the same hashes the same way. */
export function createTokenChecker (tokenHashes: readonly string[], required: boolean): TokenChecker {
  const hashes = tokenHashes.map(h => Buffer.from(h.toLowerCase(), 'hex'))
  function known (token: string): boolean {
    const digest = Buffer.from(hashToken(token), 'hex')
    let found = false
    // every hash is compared, whatever matched, so timing says nothing about which one did
    for (const h of hashes) if (timingSafeEqual(digest, h)) found = true
    return found
  }
  return {
    configured: hashes.length > 0,
    required,
    verify (method, token) {
      if (method !== 'bearer') throw new RcpError('AUTH_FAILED', `unsupported auth method: ${String(method)}`)
      if (typeof token !== 'string' || token.length === 0) throw new RcpError('AUTH_FAILED', 'empty token')
      if (hashes.length > 0 && !known(token)) throw new RcpError('AUTH_FAILED', 'invalid token')
    },
  }
}
