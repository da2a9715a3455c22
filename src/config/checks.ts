import { fail } from './errors.js'
import type { Settings } from './schema.js'

/**
 * The startup checks across keys (config.md §3 items 1 and 4, cluster.md §7); each value's own
 * range, words and format were checked when it was read, and the TLS files are checked when read.
 */
export function checkSettings ({ auth, tls, cluster }: Settings, warnings: string[]): void {
  if (auth.required && auth.token_hashes.length === 0) {
    fail('auth.required is true but no token hashes are configured (auth.token_hashes, RSTMDB_AUTH_TOKEN_HASH or auth.secrets_file)')
  }
  if (!tls.enabled && tls.require_client_cert) warnings.push('tls.require_client_cert is ignored because tls.enabled is false')
  if ((cluster.nats_user === null) !== (cluster.nats_password === null)) {
    fail('cluster.nats_user and cluster.nats_password must be set together')
  }
  if (cluster.enabled && cluster.nats_servers.length === 0) fail('cluster.enabled is true but cluster.nats_servers is empty')
}
