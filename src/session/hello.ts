import type { JsonObject } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
import type { WireMode } from '../../protocol/codec.js'
import { PROTOCOL_VERSION, SERVER_NAME, SERVER_VERSION } from '../../protocol/identity.js'

/** allowed on an unauthenticated session when auth is required (rcp.md §3.2) */
export const OPEN_BEFORE_AUTH: ReadonlySet<string> = new Set(['HELLO', 'AUTH', 'PING', 'BYE'])

/**
 * HELLO (rcp.md §6.1) and the outbound mode choice of §2.3: a JSONL HELLO always
 * means JSONL; a binary HELLO means binary unless the client lists only "jsonl".
 */
export function helloResult (params: JsonObject, requestMode: WireMode, features: readonly string[]): { result: JsonObject, mode: WireMode } {
  if (params.protocol_version !== PROTOCOL_VERSION) {
    throw new RcpError('UNSUPPORTED_PROTOCOL', `unsupported protocol version: ${String(params.protocol_version)}`, {
      requested: params.protocol_version, supported: [PROTOCOL_VERSION],
    })
  }
  const modes: unknown[] = Array.isArray(params.wire_modes) ? params.wire_modes : []
  let mode: WireMode = 'binary'
  if (requestMode === 'jsonl') mode = 'jsonl'
  else if (modes.includes('jsonl') && !modes.includes('binary_json')) mode = 'jsonl'
  const asked = new Set(Array.isArray(params.features) ? params.features : [])
  return {
    mode,
    result: {
      protocol_version: PROTOCOL_VERSION,
      wire_mode: mode === 'binary' ? 'binary_json' : 'jsonl',
      server_name: SERVER_NAME,
      server_version: SERVER_VERSION,
      features: features.filter(f => asked.has(f)),
    },
  }
}
