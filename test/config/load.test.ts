import { mkdirSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import t from 'tap'
import { loadConfig, type Config } from '../../src/config.js'
import { tempDir } from '../support/temp-dir.js'
import { configErrorOf, writeIn } from './helpers.js'

const CWD = '/srv/rstmdb'

function load (env: Record<string, string> = {}, argv: string[] = [], cwd = CWD): Config {
  return loadConfig({ argv, env, cwd })
}

function section (config: Config, key: string): Record<string, unknown> {
  return (config as unknown as Record<string, Record<string, unknown>>)[key.split('.')[0]]
}

t.test('defaults match config.md §2', async (t) => {
  const config = load()
  t.same(config, {
    network: { bind_addr: { host: '127.0.0.1', port: 7401 }, idle_timeout_secs: 300, max_connections: 1000 },
    storage: {
      data_dir: '/srv/rstmdb/data',
      wal_segment_size_mb: 64,
      fsync_policy: { kind: 'every_write' },
      max_machine_versions: 0,
      skip_corrupt_records: false,
      idempotency_ttl_secs: 86400,
      idempotency_max_keys: 1000000,
      history_retention_secs: 604800
    },
    auth: { required: false, token_hashes: [], secrets_file: null },
    tls: { enabled: false, cert_path: null, key_path: null, require_client_cert: false, client_ca_path: null, material: null },
    compaction: { enabled: true, events_threshold: 10000, size_threshold_mb: 100, min_interval_secs: 60 },
    metrics: { enabled: false, bind_addr: { host: '127.0.0.1', port: 9090 }, require_auth: false },
    logging: { level: 'info', format: 'json' },
    subscriptions: { queue_limit: 10000 },
    http: { enabled: true, bind_addr: { host: '127.0.0.1', port: 8080 }, body_limit: 16777216, cors_origins: [] },
    cluster: {
      enabled: false,
      nats_servers: ['nats://127.0.0.1:4222'],
      node_id: `${hostname()}-${process.pid}`,
      stream: 'RSTMDB',
      subject_prefix: 'rstmdb',
      replicas: 3,
      lease_ms: 5000,
      write_wait_ms: 10000,
      read_wait_ms: 5000,
      nats_token: null,
      nats_user: null,
      nats_password: null,
      nats_tls_ca: null,
      nats_tls_ca_pem: null
    },
    file: null,
    warnings: []
  })
  t.equal(loadConfig().storage.data_dir, resolve('data'), 'cwd defaults to process.cwd()')
})

// [key, YAML value, expected from the file, env var, env value, expected from env]
const PRECEDENCE: Array<[string, string, unknown, string, string, unknown]> = [
  ['network.bind_addr', '"0.0.0.0:7401"', { host: '0.0.0.0', port: 7401 }, 'RSTMDB_BIND', '[::1]:7402', { host: '::1', port: 7402 }],
  ['network.idle_timeout_secs', '0', 0, 'RSTMDB_IDLE_TIMEOUT', '15', 15],
  ['network.max_connections', '5000', 5000, 'RSTMDB_MAX_CONNECTIONS', '7', 7],
  ['storage.data_dir', '/var/lib/rstmdb', '/var/lib/rstmdb', 'RSTMDB_DATA', 'rel/data', '/srv/rstmdb/rel/data'],
  ['storage.wal_segment_size_mb', '128', 128, 'RSTMDB_WAL_SEGMENT_SIZE_MB', '1', 1],
  ['storage.fsync_policy', '{ every_ms: 50 }', { kind: 'every_ms', ms: 50 }, 'RSTMDB_FSYNC_POLICY', 'Every_N:3', { kind: 'every_n', n: 3 }],
  ['storage.max_machine_versions', '5', 5, 'RSTMDB_MAX_MACHINE_VERSIONS', '0', 0],
  ['storage.skip_corrupt_records', 'true', true, 'RSTMDB_SKIP_CORRUPT_RECORDS', 'off', false],
  ['storage.idempotency_ttl_secs', '60', 60, 'RSTMDB_IDEMPOTENCY_TTL_SECS', '1', 1],
  ['storage.idempotency_max_keys', '10', 10, 'RSTMDB_IDEMPOTENCY_MAX_KEYS', '20', 20],
  ['storage.history_retention_secs', '0', 0, 'RSTMDB_HISTORY_RETENTION_SECS', '86400', 86400],
  ['tls.cert_path', '/etc/rstmdb/server.pem', '/etc/rstmdb/server.pem', 'RSTMDB_TLS_CERT', 'cert.pem', '/srv/rstmdb/cert.pem'],
  ['tls.key_path', '/etc/rstmdb/key.pem', '/etc/rstmdb/key.pem', 'RSTMDB_TLS_KEY', 'key.pem', '/srv/rstmdb/key.pem'],
  ['tls.client_ca_path', 'ca.pem', '/srv/rstmdb/ca.pem', 'RSTMDB_TLS_CLIENT_CA', '/ca.pem', '/ca.pem'],
  ['tls.require_client_cert', 'true', true, 'RSTMDB_TLS_REQUIRE_CLIENT_CERT', 'no', false],
  ['compaction.enabled', 'false', false, 'RSTMDB_COMPACT_ENABLED', 'ON', true],
  ['compaction.events_threshold', '0', 0, 'RSTMDB_COMPACT_EVENTS', '100000', 100000],
  ['compaction.size_threshold_mb', '1000', 1000, 'RSTMDB_COMPACT_SIZE_MB', '0', 0],
  ['compaction.min_interval_secs', '300', 300, 'RSTMDB_COMPACT_INTERVAL', '1', 1],
  ['metrics.enabled', 'true', true, 'RSTMDB_METRICS_ENABLED', '0', false],
  ['metrics.bind_addr', '"0.0.0.0:9090"', { host: '0.0.0.0', port: 9090 }, 'RSTMDB_METRICS_BIND', 'localhost:0', { host: 'localhost', port: 0 }],
  ['metrics.require_auth', 'true', true, 'RSTMDB_METRICS_REQUIRE_AUTH', 'FALSE', false],
  ['logging.level', 'debug', 'debug', 'RSTMDB_LOG_LEVEL', 'WARN', 'warn'],
  ['logging.format', 'pretty', 'pretty', 'RSTMDB_LOG_FORMAT', 'json', 'json'],
  ['subscriptions.queue_limit', '1', 1, 'RSTMDB_SUBSCRIPTION_QUEUE_LIMIT', '50', 50],
  ['http.enabled', 'false', false, 'RSTMDB_HTTP_ENABLED', 'true', true],
  ['http.bind_addr', '"[::]:8080"', { host: '::', port: 8080 }, 'RSTMDB_HTTP_BIND', '127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
  ['http.body_limit', '1024', 1024, 'RSTMDB_HTTP_BODY_LIMIT', '2048', 2048],
  ['http.cors_origins', '["https://a.example", "*"]', ['https://a.example', '*'], 'RSTMDB_HTTP_CORS_ORIGINS', 'https://b.example, https://c.example', ['https://b.example', 'https://c.example']],
  ['cluster.enabled', 'true', true, 'RSTMDB_CLUSTER_ENABLED', 'off', false],
  ['cluster.nats_servers', '["nats://n1:4222", "tls://n2:4222"]', ['nats://n1:4222', 'tls://n2:4222'], 'RSTMDB_NATS_SERVERS', 'nats://a:4222, b:4223', ['nats://a:4222', 'b:4223']],
  ['cluster.node_id', 'node-a', 'node-a', 'RSTMDB_NODE_ID', 'node-b.example.com-7', 'node-b.example.com-7'],
  ['cluster.stream', 'ORDERS', 'ORDERS', 'RSTMDB_CLUSTER_STREAM', 'orders_2-b', 'orders_2-b'],
  ['cluster.subject_prefix', 'acme.rstmdb', 'acme.rstmdb', 'RSTMDB_CLUSTER_SUBJECT_PREFIX', 'prod', 'prod'],
  ['cluster.replicas', '1', 1, 'RSTMDB_CLUSTER_REPLICAS', '5', 5],
  ['cluster.lease_ms', '300', 300, 'RSTMDB_CLUSTER_LEASE_MS', '10000', 10000],
  ['cluster.write_wait_ms', '0', 0, 'RSTMDB_CLUSTER_WRITE_WAIT_MS', '250', 250],
  ['cluster.read_wait_ms', '0', 0, 'RSTMDB_CLUSTER_READ_WAIT_MS', '100', 100],
  ['cluster.nats_token', 's3cret', 's3cret', 'RSTMDB_NATS_TOKEN', 'other', 'other'],
  ['cluster.nats_tls_ca', '/etc/nats/ca.pem', '/etc/nats/ca.pem', 'RSTMDB_NATS_TLS_CA', 'ca.pem', '/srv/rstmdb/ca.pem']
]

// Covered in validate.test.ts and cluster.test.ts: they need token hashes, a secrets file,
// certificates, or each other.
const ELSEWHERE = ['auth.required', 'auth.token_hashes', 'auth.secrets_file', 'tls.enabled', 'cluster.nats_user', 'cluster.nats_password']
// Not keys: what loading adds (the PEM files it read).
const LOADED = ['tls.material', 'cluster.nats_tls_ca_pem']

t.test('every key: file overrides the default, env overrides the file', async (t) => {
  const defaults = load()
  const covered = [...PRECEDENCE.map(([key]) => key), ...ELSEWHERE].sort()
  const all = Object.entries(defaults).flatMap(([name, body]) =>
    typeof body === 'object' && body !== null && !Array.isArray(body) ? Object.keys(body).map((key) => `${name}.${key}`) : [])
  t.same(covered, all.filter((key) => !LOADED.includes(key)).sort(), 'the table covers every key')

  const dir = tempDir(t)
  for (const [key, yaml, fromFile, envName, envValue, fromEnv] of PRECEDENCE) {
    const [name, field] = key.split('.')
    const file = writeIn(dir, `${name}-${field}.yaml`, `${name}:\n  ${field}: ${yaml}\n`)
    const withFile = load({ RSTMDB_CONFIG: file })
    t.same(section(withFile, key), { ...section(defaults, key), [field]: fromFile }, `${key} from the file`)
    const withEnv = load({ RSTMDB_CONFIG: file, [envName]: envValue })
    t.same(section(withEnv, key), { ...section(defaults, key), [field]: fromEnv }, `${envName} over the file`)
    t.same(section(load({ [envName]: envValue }), key)[field], fromEnv, `${envName} alone`)
    t.same(section(load({ RSTMDB_CONFIG: file, [envName]: '' }), key)[field], fromFile, `empty ${envName} is unset`)
  }
})

t.test('the example of config.md §4 loads', async (t) => {
  const dir = tempDir(t)
  const file = writeIn(dir, 'rstmdb.yaml', `
network:   { bind_addr: "0.0.0.0:7401", idle_timeout_secs: 300, max_connections: 5000 }
storage:
  data_dir: /var/lib/rstmdb
  wal_segment_size_mb: 128
  fsync_policy: { every_ms: 50 }
  max_machine_versions: 0
compaction: { enabled: true, events_threshold: 100000, size_threshold_mb: 1000, min_interval_secs: 300 }
metrics:   { enabled: true, bind_addr: "0.0.0.0:9090" }
logging:   { level: info, format: json }
subscriptions: { queue_limit: 10000 }
http:      { enabled: true, bind_addr: "127.0.0.1:8080" }
`)
  const config = load({ RSTMDB_CONFIG: file })
  t.same(config.warnings, [])
  t.equal(config.file, file)
  t.same(config.network.bind_addr, { host: '0.0.0.0', port: 7401 })
  t.same(config.storage.fsync_policy, { kind: 'every_ms', ms: 50 })
  t.equal(config.compaction.min_interval_secs, 300)
  t.equal(config.metrics.enabled, true)
})

t.test('config file path: --config beats RSTMDB_CONFIG, relative to cwd', async (t) => {
  const dir = tempDir(t)
  writeIn(dir, 'a.yaml', 'network: { max_connections: 1 }\n')
  writeIn(dir, 'b.yaml', 'network: { max_connections: 2 }\n')
  const conns = (argv: string[], env: Record<string, string> = {}): number => load(env, argv, dir).network.max_connections
  t.equal(conns([], { RSTMDB_CONFIG: 'a.yaml' }), 1)
  t.equal(conns(['--config', 'b.yaml'], { RSTMDB_CONFIG: 'a.yaml' }), 2)
  t.equal(conns(['--config=b.yaml'], { RSTMDB_CONFIG: 'a.yaml' }), 2)
  t.equal(conns(['--verbose', 'serve', '--config', 'b.yaml', '--other=x']), 2, 'other argv entries are ignored')
  t.equal(conns(['--config=a.yaml', '--config=b.yaml']), 2, 'the last --config wins')
  t.equal(conns([], { RSTMDB_CONFIG: '' }), 1000, 'empty RSTMDB_CONFIG: no file')
  t.equal(load({}, ['--config', 'a.yaml'], dir).file, join(dir, 'a.yaml'))
  t.equal(configErrorOf(() => load({}, ['--config'])), '--config requires a path')
  t.equal(configErrorOf(() => load({}, ['--config='])), '--config requires a path')
})

t.test('unreadable or unparseable file', async (t) => {
  const dir = tempDir(t)
  t.equal(configErrorOf(() => load({}, ['--config', 'missing.yaml'], dir)),
    "failed to read config file 'missing.yaml': ENOENT: no such file or directory")
  mkdirSync(join(dir, 'adir'))
  t.equal(configErrorOf(() => load({ RSTMDB_CONFIG: 'adir' }, [], dir)),
    "failed to read config file 'adir': EISDIR: illegal operation on a directory")

  const broken = writeIn(dir, 'broken.yaml', 'network:\n  bind_addr: [unclosed\n')
  t.match(configErrorOf(() => load({ RSTMDB_CONFIG: broken })), new RegExp(`^failed to parse config file '${broken}': .*line \\d+`))

  const duplicate = writeIn(dir, 'dup.yaml', 'network: {}\nnetwork: {}\n')
  t.match(configErrorOf(() => load({ RSTMDB_CONFIG: duplicate })), `failed to parse config file '${duplicate}': `)
  for (const [name, text] of [['scalar.yaml', 'just text\n'], ['list.yaml', '- a\n- b\n']]) {
    const file = writeIn(dir, name, text)
    t.equal(configErrorOf(() => load({ RSTMDB_CONFIG: file })),
      `failed to parse config file '${file}': expected a mapping of sections at the top level`)
  }
  const notMapping = writeIn(dir, 'section.yaml', 'network: 5\n')
  t.equal(configErrorOf(() => load({ RSTMDB_CONFIG: notMapping })),
    `invalid network in config file '${notMapping}': expected a mapping of keys, got 5`)
})

t.test('empty file, empty sections and null keys take defaults', async (t) => {
  const dir = tempDir(t)
  const defaults = load()
  for (const [name, text] of [['empty.yaml', ''], ['comments.yaml', '# nothing here\n'], ['nulls.yaml', 'network:\nstorage:\n  data_dir:\n']]) {
    const file = writeIn(dir, name, text)
    t.same({ ...load({ RSTMDB_CONFIG: file }), file: null }, defaults, name)
  }
})

t.test('unknown sections and keys are warnings', async (t) => {
  const dir = tempDir(t)
  const file = writeIn(dir, 'unknown.yaml', 'network:\n  bind: "0.0.0.0:1"\n  max_connections: 3\nclustering: { peers: 3 }\n')
  const config = load({ RSTMDB_CONFIG: file })
  t.same(config.warnings, [
    `unknown config key 'network.bind' in '${file}' ignored`,
    `unknown config section 'clustering' in '${file}' ignored`
  ])
  t.equal(config.network.max_connections, 3, 'known keys still apply')
  t.same(config.network.bind_addr, { host: '127.0.0.1', port: 7401 })
})

t.test('an invalid file value names the key and the file', async (t) => {
  const dir = tempDir(t)
  const cases: Array<[string, string]> = [
    ['network:\n  max_connections: 0\n', "invalid network.max_connections in config file '%s': expected an integer >= 1, got 0"],
    ['network:\n  idle_timeout_secs: 1.5\n', "invalid network.idle_timeout_secs in config file '%s': expected an integer from 0 to 2147483, got 1.5"],
    ['storage:\n  skip_corrupt_records: maybe\n', "invalid storage.skip_corrupt_records in config file '%s': expected true/false, 1/0, yes/no or on/off, got 'maybe'"],
    ['storage:\n  data_dir: ""\n', "invalid storage.data_dir in config file '%s': expected a non-empty string, got ''"],
    ['storage:\n  data_dir: [a]\n', "invalid storage.data_dir in config file '%s': expected a non-empty string, got [\"a\"]"],
    ['http:\n  bind_addr: 8080\n', "invalid http.bind_addr in config file '%s': expected host:port, got 8080"],
    ['http:\n  cors_origins: [1, 2]\n', "invalid http.cors_origins in config file '%s': expected a list of strings or a comma-separated string"],
    ['logging:\n  level: verbose\n', "invalid logging.level in config file '%s': expected one of trace, debug, info, warn, error, got 'verbose'"],
    ['logging:\n  format: text\n', "invalid logging.format in config file '%s': expected one of json, pretty, got 'text'"]
  ]
  cases.forEach(([yaml, message], i) => {
    const file = writeIn(dir, `bad-${i}.yaml`, yaml)
    t.equal(configErrorOf(() => load({ RSTMDB_CONFIG: file })), message.replace('%s', file))
  })
  const quoted = writeIn(dir, 'quoted.yaml', 'network:\n  max_connections: "12"\nhttp:\n  cors_origins: "https://x.example,https://y.example"\n')
  const config = load({ RSTMDB_CONFIG: quoted })
  t.equal(config.network.max_connections, 12, 'a quoted integer is accepted')
  t.same(config.http.cors_origins, ['https://x.example', 'https://y.example'], 'a comma-separated string is accepted')
})

t.test('env booleans', async (t) => {
  for (const value of ['true', '1', 'yes', 'on', 'TRUE', 'Yes', 'oN']) {
    t.equal(load({ RSTMDB_METRICS_ENABLED: value }).metrics.enabled, true, value)
  }
  for (const value of ['false', '0', 'no', 'off', 'False', 'NO', 'Off']) {
    t.equal(load({ RSTMDB_HTTP_ENABLED: value }).http.enabled, false, value)
  }
  for (const value of ['y', 'enabled', '2']) {
    t.equal(configErrorOf(() => load({ RSTMDB_HTTP_ENABLED: value })),
      `invalid RSTMDB_HTTP_ENABLED: expected true/false, 1/0, yes/no or on/off, got '${value}'`)
  }
})

t.test('env integers', async (t) => {
  t.equal(load({ RSTMDB_COMPACT_EVENTS: '0' }).compaction.events_threshold, 0)
  t.equal(load({ RSTMDB_COMPACT_EVENTS: ' 42 ' }).compaction.events_threshold, 42)
  t.equal(load({ RSTMDB_COMPACT_EVENTS: '007' }).compaction.events_threshold, 7)
  for (const value of ['-1', '1.5', '0x10', '1e3', 'ten', '99999999999999999999']) {
    t.equal(configErrorOf(() => load({ RSTMDB_COMPACT_EVENTS: value })),
      `invalid RSTMDB_COMPACT_EVENTS: expected an integer >= 0, got '${value}'`)
  }
})

t.test('addresses: host:port and [ipv6]:port', async (t) => {
  const good: Array<[string, string, number]> = [
    ['127.0.0.1:7401', '127.0.0.1', 7401],
    ['localhost:0', 'localhost', 0],
    ['db.example.com:65535', 'db.example.com', 65535],
    ['[::1]:7401', '::1', 7401],
    ['[::]:80', '::', 80],
    ['[2001:db8::ff00:42:8329]:8080', '2001:db8::ff00:42:8329', 8080],
    ['[::ffff:127.0.0.1]:1', '::ffff:127.0.0.1', 1]
  ]
  for (const [value, host, port] of good) t.same(load({ RSTMDB_BIND: value }).network.bind_addr, { host, port }, value)
  for (const value of ['localhost', '127.0.0.1:', ':7401', '::1:7401', '[::1]', '[not-v6]:80', '[127.0.0.1]:80', 'host:65536', 'host:port', 'a b:1', 'host:-1']) {
    t.equal(configErrorOf(() => load({ RSTMDB_METRICS_BIND: value })),
      `invalid RSTMDB_METRICS_BIND: expected host:port or [ipv6]:port with a port from 0 to 65535, got '${value}'`, value)
  }
})

t.test('fsync policy: env forms', async (t) => {
  const good: Array<[string, unknown]> = [
    ['every_write', { kind: 'every_write' }],
    ['everywrite', { kind: 'every_write' }],
    ['EVERY_WRITE', { kind: 'every_write' }],
    ['EveryWrite', { kind: 'every_write' }],
    ['every_n:100', { kind: 'every_n', n: 100 }],
    ['EVERY_N:1', { kind: 'every_n', n: 1 }],
    ['every_ms:50', { kind: 'every_ms', ms: 50 }],
    ['Every_Ms:2147483647', { kind: 'every_ms', ms: 2147483647 }],
    ['never', { kind: 'never' }],
    ['NEVER', { kind: 'never' }]
  ]
  for (const [value, policy] of good) t.same(load({ RSTMDB_FSYNC_POLICY: value }).storage.fsync_policy, policy, value)
  const usage = 'expected every_write, every_n:N, every_ms:N, never, {every_n: N} or {every_ms: N} with N >= 1'
  for (const value of ['sometimes', 'every_n', 'every_ms:', 'every_write:1', 'never:0', 'every_n 5']) {
    t.equal(configErrorOf(() => load({ RSTMDB_FSYNC_POLICY: value })), `invalid RSTMDB_FSYNC_POLICY: ${usage}, got '${value}'`, value)
  }
  t.equal(configErrorOf(() => load({ RSTMDB_FSYNC_POLICY: 'every_n:0' })),
    "invalid RSTMDB_FSYNC_POLICY: invalid every_n: expected an integer >= 1, got '0'")
  t.equal(configErrorOf(() => load({ RSTMDB_FSYNC_POLICY: 'every_n:1:2' })),
    "invalid RSTMDB_FSYNC_POLICY: invalid every_n: expected an integer >= 1, got '1:2'")
  t.equal(configErrorOf(() => load({ RSTMDB_FSYNC_POLICY: 'every_ms:-5' })),
    "invalid RSTMDB_FSYNC_POLICY: invalid every_ms: expected an integer from 1 to 2147483647, got '-5'")
  t.equal(configErrorOf(() => load({ RSTMDB_FSYNC_POLICY: 'every_ms:2147483648' })),
    "invalid RSTMDB_FSYNC_POLICY: invalid every_ms: expected an integer from 1 to 2147483647, got '2147483648'")
})

t.test('fsync policy: YAML forms', async (t) => {
  const dir = tempDir(t)
  const good: Array<[string, unknown]> = [
    ['every_write', { kind: 'every_write' }],
    ['never', { kind: 'never' }],
    ['{ every_n: 100 }', { kind: 'every_n', n: 100 }],
    ['{ every_ms: 100 }', { kind: 'every_ms', ms: 100 }],
    ['\n    every_n: 7', { kind: 'every_n', n: 7 }],
    ['"every_n:100"', { kind: 'every_n', n: 100 }],
    ['every_ms:25', { kind: 'every_ms', ms: 25 }],
    ['EveryWrite', { kind: 'every_write' }]
  ]
  good.forEach(([yaml, policy], i) => {
    const file = writeIn(dir, `good-${i}.yaml`, `storage:\n  fsync_policy: ${yaml}\n`)
    t.same(load({ RSTMDB_CONFIG: file }).storage.fsync_policy, policy, yaml)
  })
  const bad: Array<[string, string]> = [
    ['{ every_n: 0 }', 'invalid every_n: expected an integer >= 1, got 0'],
    ['{ every_ms: 1.5 }', 'invalid every_ms: expected an integer from 1 to 2147483647, got 1.5'],
    ['{ every_n: 1, every_ms: 2 }', 'expected every_write, every_n:N, every_ms:N, never, {every_n: N} or {every_ms: N} with N >= 1, got {"every_n":1,"every_ms":2}'],
    ['{ sometimes: 1 }', 'expected every_write, every_n:N, every_ms:N, never, {every_n: N} or {every_ms: N} with N >= 1, got {"sometimes":1}'],
    ['42', 'expected every_write, every_n:N, every_ms:N, never, {every_n: N} or {every_ms: N} with N >= 1, got 42'],
    ['[every_write]', 'expected every_write, every_n:N, every_ms:N, never, {every_n: N} or {every_ms: N} with N >= 1, got ["every_write"]']
  ]
  bad.forEach(([yaml, reason], i) => {
    const file = writeIn(dir, `bad-${i}.yaml`, `storage:\n  fsync_policy: ${yaml}\n`)
    t.equal(configErrorOf(() => load({ RSTMDB_CONFIG: file })), `invalid storage.fsync_policy in config file '${file}': ${reason}`, yaml)
  })
})

t.test('log level: RSTMDB_LOG_LEVEL, else RUST_LOG when it is a bare level', async (t) => {
  t.equal(load({ RUST_LOG: 'debug' }).logging.level, 'debug')
  t.equal(load({ RUST_LOG: 'TRACE' }).logging.level, 'trace')
  t.equal(load({ RUST_LOG: 'rstmdb=debug' }).logging.level, 'info', 'a filter directive is not a bare level')
  t.equal(load({ RUST_LOG: 'off' }).logging.level, 'info')
  t.equal(load({ RSTMDB_LOG_LEVEL: 'error', RUST_LOG: 'debug' }).logging.level, 'error')
  t.equal(load({ RSTMDB_LOG_LEVEL: '', RUST_LOG: 'warn' }).logging.level, 'warn', 'an empty RSTMDB_LOG_LEVEL is unset')
  t.equal(configErrorOf(() => load({ RSTMDB_LOG_LEVEL: 'verbose' })),
    "invalid RSTMDB_LOG_LEVEL: expected one of trace, debug, info, warn, error, got 'verbose'")
  t.equal(configErrorOf(() => load({ RSTMDB_LOG_FORMAT: 'xml' })),
    "invalid RSTMDB_LOG_FORMAT: expected one of json, pretty, got 'xml'")
})

t.test('cors origins from env: comma-separated, blanks dropped', async (t) => {
  t.same(load({ RSTMDB_HTTP_CORS_ORIGINS: '*' }).http.cors_origins, ['*'])
  t.same(load({ RSTMDB_HTTP_CORS_ORIGINS: ' https://a.example ,, https://b.example ' }).http.cors_origins, ['https://a.example', 'https://b.example'])
})
