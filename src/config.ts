import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { formatAddress, parseAddress, type Address } from '../protocol/address.js'
import { resolve } from 'node:path'
import { parseDocument } from 'yaml'
import { formatFsyncPolicy, type FsyncPolicy } from '../storage/index.js'
import type { CompactionSection, StorageSection } from './ops/options.js'

/** A configuration problem that stops startup: main prints the message to stderr and exits 1. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

export { formatAddress, type Address }

export { formatFsyncPolicy, type FsyncPolicy }

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export type LogFormat = 'json' | 'pretty'

export interface NetworkConfig { bind_addr: Address, idle_timeout_secs: number, max_connections: number }
export type StorageConfig = StorageSection
export interface AuthConfig { required: boolean, token_hashes: string[], secrets_file: string | null }
export interface TlsConfig {
  enabled: boolean
  cert_path: string | null
  key_path: string | null
  require_client_cert: boolean
  client_ca_path: string | null
}
export type CompactionConfig = CompactionSection
export interface MetricsConfig { enabled: boolean, bind_addr: Address, require_auth: boolean }
export interface LoggingConfig { level: LogLevel, format: LogFormat }
export interface SubscriptionsConfig { queue_limit: number }
export interface HttpConfig { enabled: boolean, bind_addr: Address, body_limit: number, cors_origins: string[] }

/** Paths are absolute (resolved against the working directory); addresses are parsed. */
export interface Config {
  network: NetworkConfig
  storage: StorageConfig
  auth: AuthConfig
  tls: TlsConfig
  compaction: CompactionConfig
  metrics: MetricsConfig
  logging: LoggingConfig
  subscriptions: SubscriptionsConfig
  http: HttpConfig
  /** Absolute path of the YAML file that was loaded, or null. */
  file: string | null
  /** Unknown keys and ignored settings, for main to log once its logger exists. */
  warnings: string[]
}

/** A value type: how to read it from YAML or env text, and how to show it in the startup log. */
interface Kind {
  parse: (raw: unknown, cwd: string) => unknown
  format?: (value: any) => unknown
}

interface KeySpec {
  key: string
  env: string
  kind: Kind
  /** Raw form, read by `kind.parse` like any other source; null = unset. */
  default: unknown
  /** The env value is added to the file's list instead of replacing it. */
  envAppends?: boolean
  /** Read when `env` is unset, if `when` accepts its value. */
  envFallback?: { name: string, when: (value: string) => boolean }
  /** Name in the startup log, when the value must not be logged as is. */
  logAs?: string
}

function fail (reason: string): never {
  throw new ConfigError(reason)
}

function show (raw: unknown): string {
  return typeof raw === 'string' ? `'${raw}'` : JSON.stringify(raw)
}

/** Re-throws a parser's reason with the name of the variable or key it came from. */
function named<T> (name: string, read: () => T): T {
  try {
    return read()
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`invalid ${name}: ${err.message}`)
    throw err
  }
}

function isMapping (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Drops the syscall and path Node appends to OS errors, since our messages already name the file. */
function reasonOf (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  return ('syscall' in err ? err.message.replace(/, \w+(?: '.*')?$/, '') : err.message).trimEnd()
}

function integer (min: number, max = Number.MAX_SAFE_INTEGER): Kind {
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
  return {
    parse (raw) {
      const n = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw
      if (typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max) return n
      return fail(`expected an integer ${range}, got ${show(raw)}`)
    }
  }
}

const TRUE = new Set(['true', '1', 'yes', 'on'])
const FALSE = new Set(['false', '0', 'no', 'off'])

const boolean: Kind = {
  parse (raw) {
    if (typeof raw === 'boolean') return raw
    const text = typeof raw === 'string' || typeof raw === 'number' ? String(raw).trim().toLowerCase() : ''
    if (TRUE.has(text)) return true
    if (FALSE.has(text)) return false
    return fail(`expected true/false, 1/0, yes/no or on/off, got ${show(raw)}`)
  }
}

function text (raw: unknown): string {
  if (typeof raw === 'string' && raw.trim() !== '') return raw.trim()
  return fail(`expected a non-empty string, got ${show(raw)}`)
}

const path: Kind = { parse: (raw, cwd) => resolve(cwd, text(raw)) }

function oneOf (values: readonly string[]): Kind {
  return {
    parse (raw) {
      const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw
      if (typeof value === 'string' && values.includes(value)) return value
      return fail(`expected one of ${values.join(', ')}, got ${show(raw)}`)
    }
  }
}

/** A YAML list of strings, or a comma-separated string (the env form). */
function stringList (raw: unknown): string[] {
  const items = typeof raw === 'string' ? raw.split(',') : raw
  if (!Array.isArray(items) || !items.every((item) => typeof item === 'string')) {
    return fail('expected a list of strings or a comma-separated string')
  }
  return items.map((item) => item.trim()).filter((item) => item !== '')
}

const strings: Kind = { parse: stringList }

/** Lowercases; never echoes the value, in case someone pasted a token instead of its hash. */
function tokenHash (raw: string): string {
  const hash = raw.toLowerCase()
  if (/^[0-9a-f]{64}$/.test(hash)) return hash
  return fail('expected a 64-character hex SHA-256 hash (see `rstmdb-cli hash-token`)')
}

const tokenHashes: Kind = {
  parse: (raw) => stringList(raw).map((item, i) => named(`entry ${i + 1}`, () => tokenHash(item))),
  format: (hashes: string[]) => hashes.length
}

function address (raw: string): Address {
  return parseAddress(raw) ?? fail(`expected host:port or [ipv6]:port with a port from 0 to 65535, got ${show(raw)}`)
}

const addressKind: Kind = {
  parse: (raw) => typeof raw === 'string' ? address(raw) : fail(`expected host:port, got ${show(raw)}`),
  format: formatAddress
}

// setTimeout fires at once for delays beyond 2^31-1 ms, so timer settings stay below it.
const MAX_TIMER_MS = 2 ** 31 - 1

function fsyncPolicy (raw: unknown): FsyncPolicy {
  const usage = `expected every_write, every_n:N, every_ms:N, never, {every_n: N} or {every_ms: N} with N >= 1, got ${show(raw)}`
  let form: string | undefined
  let count: unknown
  if (isMapping(raw) && Object.keys(raw).length === 1) {
    [[form, count]] = Object.entries(raw)
  } else if (typeof raw === 'string') {
    const match = /^(\w+)(?:\s*:\s*(\S+))?$/.exec(raw.trim().toLowerCase())
    form = match?.[1]
    count = match?.[2]
  }
  if (count === undefined && (form === 'every_write' || form === 'everywrite')) return { kind: 'every_write' }
  if (count === undefined && form === 'never') return { kind: 'never' }
  if (form === 'every_n' && count !== undefined) return { kind: 'every_n', n: named('every_n', () => integer(1).parse(count, '') as number) }
  if (form === 'every_ms' && count !== undefined) return { kind: 'every_ms', ms: named('every_ms', () => integer(1, MAX_TIMER_MS).parse(count, '') as number) }
  return fail(usage)
}


const fsync: Kind = { parse: fsyncPolicy, format: formatFsyncPolicy }

const isBareLevel = (value: string): boolean => (LOG_LEVELS as readonly string[]).includes(value.trim().toLowerCase())

/** Every key of config.md §2: this one table drives defaults, the YAML file, env and the startup log. */
const KEYS: readonly KeySpec[] = [
  { key: 'network.bind_addr', env: 'RSTMDB_BIND', kind: addressKind, default: '127.0.0.1:7401' },
  { key: 'network.idle_timeout_secs', env: 'RSTMDB_IDLE_TIMEOUT', kind: integer(0, Math.floor(MAX_TIMER_MS / 1000)), default: 300 },
  { key: 'network.max_connections', env: 'RSTMDB_MAX_CONNECTIONS', kind: integer(1), default: 1000 },
  { key: 'storage.data_dir', env: 'RSTMDB_DATA', kind: path, default: './data' },
  { key: 'storage.wal_segment_size_mb', env: 'RSTMDB_WAL_SEGMENT_SIZE_MB', kind: integer(1), default: 64 },
  { key: 'storage.fsync_policy', env: 'RSTMDB_FSYNC_POLICY', kind: fsync, default: 'every_write' },
  { key: 'storage.max_machine_versions', env: 'RSTMDB_MAX_MACHINE_VERSIONS', kind: integer(0), default: 0 },
  { key: 'storage.skip_corrupt_records', env: 'RSTMDB_SKIP_CORRUPT_RECORDS', kind: boolean, default: false },
  { key: 'storage.idempotency_ttl_secs', env: 'RSTMDB_IDEMPOTENCY_TTL_SECS', kind: integer(1), default: 86400 },
  { key: 'storage.idempotency_max_keys', env: 'RSTMDB_IDEMPOTENCY_MAX_KEYS', kind: integer(1), default: 1000000 },
  { key: 'auth.required', env: 'RSTMDB_AUTH_REQUIRED', kind: boolean, default: false },
  { key: 'auth.token_hashes', env: 'RSTMDB_AUTH_TOKEN_HASH', kind: tokenHashes, default: [], envAppends: true, logAs: 'token_count' },
  { key: 'auth.secrets_file', env: 'RSTMDB_AUTH_SECRETS_FILE', kind: path, default: null },
  { key: 'tls.enabled', env: 'RSTMDB_TLS_ENABLED', kind: boolean, default: false },
  { key: 'tls.cert_path', env: 'RSTMDB_TLS_CERT', kind: path, default: null },
  { key: 'tls.key_path', env: 'RSTMDB_TLS_KEY', kind: path, default: null },
  { key: 'tls.require_client_cert', env: 'RSTMDB_TLS_REQUIRE_CLIENT_CERT', kind: boolean, default: false },
  { key: 'tls.client_ca_path', env: 'RSTMDB_TLS_CLIENT_CA', kind: path, default: null },
  { key: 'compaction.enabled', env: 'RSTMDB_COMPACT_ENABLED', kind: boolean, default: true },
  { key: 'compaction.events_threshold', env: 'RSTMDB_COMPACT_EVENTS', kind: integer(0), default: 10000 },
  { key: 'compaction.size_threshold_mb', env: 'RSTMDB_COMPACT_SIZE_MB', kind: integer(0), default: 100 },
  { key: 'compaction.min_interval_secs', env: 'RSTMDB_COMPACT_INTERVAL', kind: integer(0), default: 60 },
  { key: 'metrics.enabled', env: 'RSTMDB_METRICS_ENABLED', kind: boolean, default: false },
  { key: 'metrics.bind_addr', env: 'RSTMDB_METRICS_BIND', kind: addressKind, default: '127.0.0.1:9090' },
  { key: 'metrics.require_auth', env: 'RSTMDB_METRICS_REQUIRE_AUTH', kind: boolean, default: false },
  { key: 'logging.level', env: 'RSTMDB_LOG_LEVEL', kind: oneOf(LOG_LEVELS), default: 'info', envFallback: { name: 'RUST_LOG', when: isBareLevel } },
  { key: 'logging.format', env: 'RSTMDB_LOG_FORMAT', kind: oneOf(['json', 'pretty']), default: 'json' },
  { key: 'subscriptions.queue_limit', env: 'RSTMDB_SUBSCRIPTION_QUEUE_LIMIT', kind: integer(1), default: 10000 },
  { key: 'http.enabled', env: 'RSTMDB_HTTP_ENABLED', kind: boolean, default: true },
  { key: 'http.bind_addr', env: 'RSTMDB_HTTP_BIND', kind: addressKind, default: '127.0.0.1:8080' },
  { key: 'http.body_limit', env: 'RSTMDB_HTTP_BODY_LIMIT', kind: integer(1), default: 16777216 },
  { key: 'http.cors_origins', env: 'RSTMDB_HTTP_CORS_ORIGINS', kind: strings, default: [] }
]

const BY_KEY = new Map(KEYS.map((spec) => [spec.key, spec]))
const SECTIONS = new Set(KEYS.map((spec) => spec.key.split('.')[0]))

type Env = Readonly<Record<string, string | undefined>>

export interface LoadOptions {
  /** Scanned for `--config <path>` / `--config=<path>`; every other entry is ignored. */
  argv?: readonly string[]
  env?: Env
  /** Base for the config path and every path setting; defaults to process.cwd(). */
  cwd?: string
}

/** defaults < YAML file < RSTMDB_* env, then secrets file, dedupe and validation (config.md §1, §3). */
export function loadConfig ({ argv = [], env = {}, cwd = process.cwd() }: LoadOptions = {}): Config {
  const warnings: string[] = []
  const values = new Map<string, unknown>()
  for (const spec of KEYS) values.set(spec.key, spec.default === null ? null : spec.kind.parse(spec.default, cwd))

  const given = configPath(argv, env)
  let file: string | null = null
  if (given !== undefined) {
    file = resolve(cwd, given)
    applyFile(values, readYaml(given, file, warnings), given, cwd, warnings)
  }
  applyEnv(values, env, cwd)

  const config = assemble(values, file, warnings)
  const { auth } = config
  const secrets = auth.secrets_file === null ? [] : readSecrets(auth.secrets_file)
  auth.token_hashes = [...new Set([...auth.token_hashes, ...secrets])]
  validate(config)
  return config
}

function configPath (argv: readonly string[], env: Env): string | undefined {
  let found: string | undefined
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') {
      found = argv[++i]
      if (found === undefined || found === '') fail('--config requires a path')
    } else if (argv[i].startsWith('--config=')) {
      found = argv[i].slice('--config='.length)
      if (found === '') fail('--config requires a path')
    }
  }
  return found ?? (env.RSTMDB_CONFIG === '' ? undefined : env.RSTMDB_CONFIG)
}

function readYaml (given: string, file: string, warnings: string[]): unknown {
  let source: string
  try {
    source = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`failed to read config file '${given}': ${reasonOf(err)}`)
  }
  try {
    const doc = parseDocument(source)
    if (doc.errors.length > 0) throw doc.errors[0]
    for (const warning of doc.warnings) warnings.push(`config file '${given}': ${warning.message}`)
    const content: unknown = doc.toJS()
    if (content !== null && content !== undefined && !isMapping(content)) fail('expected a mapping of sections at the top level')
    return content
  } catch (err) {
    throw new ConfigError(`failed to parse config file '${given}': ${reasonOf(err)}`)
  }
}

function applyFile (values: Map<string, unknown>, content: unknown, given: string, cwd: string, warnings: string[]): void {
  if (!isMapping(content)) return // an empty file: all defaults
  for (const [section, body] of Object.entries(content)) {
    if (!SECTIONS.has(section)) {
      warnings.push(`unknown config section '${section}' in '${given}' ignored`)
      continue
    }
    if (body === null) continue
    if (!isMapping(body)) fail(`invalid ${section} in config file '${given}': expected a mapping of keys, got ${show(body)}`)
    for (const [name, raw] of Object.entries(body)) {
      const key = `${section}.${name}`
      const spec = BY_KEY.get(key)
      if (spec === undefined) warnings.push(`unknown config key '${key}' in '${given}' ignored`)
      else if (raw !== null) values.set(key, named(`${key} in config file '${given}'`, () => spec.kind.parse(raw, cwd)))
    }
  }
}

function applyEnv (values: Map<string, unknown>, env: Env, cwd: string): void {
  for (const spec of KEYS) {
    const found = envValue(spec, env)
    if (found === undefined) continue
    const [name, raw] = found
    const value = named(name, () => spec.kind.parse(raw, cwd))
    values.set(spec.key, spec.envAppends === true ? [...values.get(spec.key) as unknown[], ...value as unknown[]] : value)
  }
}

/** An empty value counts as unset. */
function envValue (spec: KeySpec, env: Env): [string, string] | undefined {
  const value = env[spec.env]
  if (value !== undefined && value !== '') return [spec.env, value]
  const fallback = spec.envFallback
  const other = fallback === undefined ? undefined : env[fallback.name]
  if (fallback !== undefined && other !== undefined && fallback.when(other)) return [fallback.name, other]
  return undefined
}

function assemble (values: Map<string, unknown>, file: string | null, warnings: string[]): Config {
  const sections: Record<string, Record<string, unknown>> = {}
  for (const [key, value] of values) {
    const [section, name] = key.split('.')
    sections[section] ??= {}
    sections[section][name] = value
  }
  return { ...sections, file, warnings } as unknown as Config
}

function readSecrets (file: string): string[] {
  let source: string
  try {
    source = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`failed to read auth.secrets_file '${file}': ${reasonOf(err)}`)
  }
  const hashes: string[] = []
  source.split('\n').forEach((line, i) => {
    const entry = line.trim()
    if (entry !== '' && !entry.startsWith('#')) hashes.push(named(`auth.secrets_file '${file}' line ${i + 1}`, () => tokenHash(entry)))
  })
  return hashes
}

/** config.md §3 items 1, 3 and 4; items 2 and 5 are checked as each value is parsed. */
function validate (config: Config): void {
  const { auth, tls } = config
  if (auth.required && auth.token_hashes.length === 0) {
    fail('auth.required is true but no token hashes are configured (auth.token_hashes, RSTMDB_AUTH_TOKEN_HASH or auth.secrets_file)')
  }
  if (tls.enabled) readTlsMaterial(tls)
  else if (tls.require_client_cert) config.warnings.push('tls.require_client_cert is ignored because tls.enabled is false')
}

export interface TlsMaterial { cert: Buffer, key: Buffer, ca: Buffer | null }

/** Reads and checks the PEM files of an enabled TLS config; main passes the result to tls.createServer. */
export function readTlsMaterial (tls: TlsConfig): TlsMaterial {
  if (tls.cert_path === null) fail('tls.enabled is true but tls.cert_path is not set')
  if (tls.key_path === null) fail('tls.enabled is true but tls.key_path is not set')
  if (tls.require_client_cert && tls.client_ca_path === null) fail('tls.require_client_cert is true but tls.client_ca_path is not set')
  const [cert, certificate] = readPem('tls.cert_path', tls.cert_path, 'certificate', (pem) => new X509Certificate(pem))
  const [key, privateKey] = readPem('tls.key_path', tls.key_path, 'private key', (pem) => createPrivateKey(pem))
  const [ca] = tls.client_ca_path === null
    ? [null]
    : readPem('tls.client_ca_path', tls.client_ca_path, 'certificate', (pem) => new X509Certificate(pem))
  if (!certificate.checkPrivateKey(privateKey)) {
    fail(`tls.key_path '${tls.key_path}' does not match the certificate in tls.cert_path '${tls.cert_path}'`)
  }
  return { cert, key, ca }
}

function readPem<T> (key: string, file: string, what: string, parse: (pem: Buffer) => T): [Buffer, T] {
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (err) {
    return fail(`cannot read ${key} '${file}': ${reasonOf(err)}`)
  }
  try {
    return [pem, parse(pem)]
  } catch (err) {
    return fail(`cannot parse ${key} '${file}' as a PEM ${what}: ${reasonOf(err)}`)
  }
}

/** The effective configuration for the startup log: formatted values, token counts and never token hashes. */
export function describeConfig (config: Config): Record<string, unknown> {
  const sections: Record<string, Record<string, unknown>> = {}
  const source = config as unknown as Record<string, Record<string, unknown>>
  for (const spec of KEYS) {
    const [section, name] = spec.key.split('.')
    const value = source[section][name]
    sections[section] ??= {}
    sections[section][spec.logAs ?? name] = value === null || spec.kind.format === undefined ? value : spec.kind.format(value)
  }
  return { file: config.file, ...sections }
}
