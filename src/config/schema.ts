import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { Address, Bool, FsyncPolicy, Int, keysOf, List, MAX_TIMER_MS, OneOf, Path, Text, TokenHashes } from './keys.js'

/**
 * The server configuration of config.md §2 and cluster.md §7, declared once. Each key's
 * schema is the source of its default, its checks, its `RSTMDB_*` variable and its type:
 * `Static<typeof StorageSchema>` (exported as StorageSection) is what openDatabase takes, and
 * DEFAULTS.storage its defaults.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const

export const NetworkSchema = Type.Object({
  bind_addr: Address({ env: 'RSTMDB_BIND', default: '127.0.0.1:7401' }),
  idle_timeout_secs: Int({ env: 'RSTMDB_IDLE_TIMEOUT', default: 300, minimum: 0, maximum: Math.floor(MAX_TIMER_MS / 1000) }),
  max_connections: Int({ env: 'RSTMDB_MAX_CONNECTIONS', default: 1000, minimum: 1 })
})

export const StorageSchema = Type.Object({
  data_dir: Path({ env: 'RSTMDB_DATA', default: './data' }),
  wal_segment_size_mb: Int({ env: 'RSTMDB_WAL_SEGMENT_SIZE_MB', default: 64, minimum: 1 }),
  fsync_policy: FsyncPolicy({ env: 'RSTMDB_FSYNC_POLICY', default: { kind: 'every_write' } }),
  max_machine_versions: Int({ env: 'RSTMDB_MAX_MACHINE_VERSIONS', default: 0, minimum: 0 }),
  skip_corrupt_records: Bool({ env: 'RSTMDB_SKIP_CORRUPT_RECORDS', default: false }),
  idempotency_ttl_secs: Int({ env: 'RSTMDB_IDEMPOTENCY_TTL_SECS', default: 86400, minimum: 1 }),
  idempotency_max_keys: Int({ env: 'RSTMDB_IDEMPOTENCY_MAX_KEYS', default: 1000000, minimum: 1 }),
  history_retention_secs: Int({ env: 'RSTMDB_HISTORY_RETENTION_SECS', default: 604800, minimum: 0 })
})

export const AuthSchema = Type.Object({
  required: Bool({ env: 'RSTMDB_AUTH_REQUIRED', default: false }),
  token_hashes: TokenHashes({ env: 'RSTMDB_AUTH_TOKEN_HASH', default: [], envAppends: true, logAs: 'token_count' }),
  secrets_file: Path({ env: 'RSTMDB_AUTH_SECRETS_FILE' })
})

export const TlsSchema = Type.Object({
  enabled: Bool({ env: 'RSTMDB_TLS_ENABLED', default: false }),
  cert_path: Path({ env: 'RSTMDB_TLS_CERT' }),
  key_path: Path({ env: 'RSTMDB_TLS_KEY' }),
  require_client_cert: Bool({ env: 'RSTMDB_TLS_REQUIRE_CLIENT_CERT', default: false }),
  client_ca_path: Path({ env: 'RSTMDB_TLS_CLIENT_CA' })
})

export const CompactionSchema = Type.Object({
  enabled: Bool({ env: 'RSTMDB_COMPACT_ENABLED', default: true }),
  events_threshold: Int({ env: 'RSTMDB_COMPACT_EVENTS', default: 10000, minimum: 0 }),
  size_threshold_mb: Int({ env: 'RSTMDB_COMPACT_SIZE_MB', default: 100, minimum: 0 }),
  min_interval_secs: Int({ env: 'RSTMDB_COMPACT_INTERVAL', default: 60, minimum: 0 })
})

export const MetricsSchema = Type.Object({
  enabled: Bool({ env: 'RSTMDB_METRICS_ENABLED', default: false }),
  bind_addr: Address({ env: 'RSTMDB_METRICS_BIND', default: '127.0.0.1:9090' }),
  require_auth: Bool({ env: 'RSTMDB_METRICS_REQUIRE_AUTH', default: false })
})

export const LoggingSchema = Type.Object({
  level: OneOf(LOG_LEVELS, { env: 'RSTMDB_LOG_LEVEL', default: 'info', envFallback: 'RUST_LOG' }),
  format: OneOf(['json', 'pretty'], { env: 'RSTMDB_LOG_FORMAT', default: 'json' })
})

export const SubscriptionsSchema = Type.Object({
  queue_limit: Int({ env: 'RSTMDB_SUBSCRIPTION_QUEUE_LIMIT', default: 10000, minimum: 1 })
})

export const HttpSchema = Type.Object({
  enabled: Bool({ env: 'RSTMDB_HTTP_ENABLED', default: true }),
  bind_addr: Address({ env: 'RSTMDB_HTTP_BIND', default: '127.0.0.1:8080' }),
  body_limit: Int({ env: 'RSTMDB_HTTP_BODY_LIMIT', default: 16777216, minimum: 1 }),
  cors_origins: List({ env: 'RSTMDB_HTTP_CORS_ORIGINS', default: [] })
})

// No user:password@ in a server URL: credentials have keys of their own and the URLs are logged.
const NATS_URL = {
  pattern: '^(?:(?:nats|tls|ws|wss)://)?(?:\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+)(?::\\d{1,5})?$',
  expects: 'expected nats://host:port, tls://host:port or host:port'
}
// The KV and object store buckets are named <stream>_LEADER and <stream>_SNAPSHOTS, and NATS
// allows only these characters in bucket names.
const STREAM_NAME = { pattern: '^[A-Za-z0-9_-]+$', expects: "expected letters, digits, '_' or '-'" }
// Dot-separated tokens without spaces, control characters or wildcards; a leading '$' is NATS's own ($JS, $KV, $SYS).
const SUBJECT_PREFIX = {
  pattern: '^[^\\s\\u0000-\\u001f\\u007f.*>$][^\\s\\u0000-\\u001f\\u007f.*>]*(?:\\.[^\\s\\u0000-\\u001f\\u007f.*>]+)*$',
  expects: "expected NATS subject tokens separated by single dots, without spaces, '*', '>' or a leading '$'"
}
const NODE_ID = { pattern: '^\\S+$', expects: 'expected a name without spaces' }

export const ClusterSchema = Type.Object({
  enabled: Bool({ env: 'RSTMDB_CLUSTER_ENABLED', default: false }),
  nats_servers: List({ env: 'RSTMDB_NATS_SERVERS', default: ['nats://127.0.0.1:4222'], rule: NATS_URL }),
  /** unset: `<hostname>-<pid>`, filled in by loadConfig */
  node_id: Text({ env: 'RSTMDB_NODE_ID', rule: NODE_ID }),
  stream: Text({ env: 'RSTMDB_CLUSTER_STREAM', default: 'RSTMDB', rule: STREAM_NAME }),
  subject_prefix: Text({ env: 'RSTMDB_CLUSTER_SUBJECT_PREFIX', default: 'rstmdb', rule: SUBJECT_PREFIX }),
  // JetStream replicates a stream on at most 5 servers.
  replicas: Int({ env: 'RSTMDB_CLUSTER_REPLICAS', default: 3, minimum: 1, maximum: 5 }),
  lease_ms: Int({ env: 'RSTMDB_CLUSTER_LEASE_MS', default: 5000, minimum: 300, maximum: MAX_TIMER_MS }),
  write_wait_ms: Int({ env: 'RSTMDB_CLUSTER_WRITE_WAIT_MS', default: 10000, minimum: 0, maximum: MAX_TIMER_MS }),
  read_wait_ms: Int({ env: 'RSTMDB_CLUSTER_READ_WAIT_MS', default: 5000, minimum: 0, maximum: MAX_TIMER_MS }),
  nats_token: Text({ env: 'RSTMDB_NATS_TOKEN', secret: true }),
  nats_user: Text({ env: 'RSTMDB_NATS_USER' }),
  nats_password: Text({ env: 'RSTMDB_NATS_PASSWORD', secret: true }),
  nats_tls_ca: Path({ env: 'RSTMDB_NATS_TLS_CA' })
})

export const ConfigSchema = Type.Object({
  network: NetworkSchema,
  storage: StorageSchema,
  auth: AuthSchema,
  tls: TlsSchema,
  compaction: CompactionSchema,
  metrics: MetricsSchema,
  logging: LoggingSchema,
  subscriptions: SubscriptionsSchema,
  http: HttpSchema,
  cluster: ClusterSchema
})

/** The value of every key, as the schema types it (paths as given, node_id possibly null). */
export type Settings = Static<typeof ConfigSchema>
export type NetworkSection = Settings['network']
export type StorageSection = Settings['storage']
export type AuthSection = Settings['auth']
export type TlsSection = Settings['tls']
export type CompactionSection = Settings['compaction']
export type MetricsSection = Settings['metrics']
export type LoggingSection = Settings['logging']
export type SubscriptionsSection = Settings['subscriptions']
export type HttpSection = Settings['http']
export type ClusterSection = Settings['cluster']
export type LogLevel = LoggingSection['level']

/** Every key of the schema, in declaration order: what the file, env and log layers walk. */
export const KEYS = keysOf(ConfigSchema)

/** A fresh copy of every default (relative paths as declared). */
export function defaults (): Settings {
  return Value.Create(ConfigSchema)
}

export const DEFAULTS: Readonly<Settings> = defaults()
export const DEFAULT_STORAGE: Readonly<StorageSection> = DEFAULTS.storage
export const DEFAULT_COMPACTION: Readonly<CompactionSection> = DEFAULTS.compaction
