import { join } from 'node:path'
import t from 'tap'
import {
  describeConfig, formatAddress, formatFsyncPolicy, loadConfig, type Config
} from '../../src/config.js'
import { hashToken } from '../../protocol/auth.js'
import { tempDir } from '../support/temp-dir.js'
import { CERT, configErrorOf, KEY, OTHER_KEY, writeIn } from './helpers.js'

const A = hashToken('token-a')
const B = hashToken('token-b')
const C = hashToken('token-c')
const USAGE = 'expected a 64-character hex SHA-256 hash (see `rstmdb-cli hash-token`)'

function load (env: Record<string, string>, cwd = '/srv/rstmdb'): Config {
  return loadConfig({ env, cwd })
}

t.test('§3.1 auth.required needs token hashes', async (t) => {
  const message = 'auth.required is true but no token hashes are configured (auth.token_hashes, RSTMDB_AUTH_TOKEN_HASH or auth.secrets_file)'
  t.equal(configErrorOf(() => load({ RSTMDB_AUTH_REQUIRED: 'true' })), message)
  const dir = tempDir(t)
  const file = writeIn(dir, 'auth.yaml', 'auth:\n  required: true\n  token_hashes: []\n')
  t.equal(configErrorOf(() => load({ RSTMDB_CONFIG: file })), message)
  t.same(load({ RSTMDB_CONFIG: file, RSTMDB_AUTH_TOKEN_HASH: A }).auth, { required: true, token_hashes: [A], secrets_file: null })
  t.equal(load({ RSTMDB_CONFIG: file, RSTMDB_AUTH_REQUIRED: 'false' }).auth.required, false, 'env overrides the file')
})

t.test('§3.2 token hashes: 64 hex, lowercased, env appended, deduplicated', async (t) => {
  const dir = tempDir(t)
  const file = writeIn(dir, 'hashes.yaml', `auth:\n  token_hashes:\n    - ${A.toUpperCase()}\n    - ${B}\n`)
  t.same(load({ RSTMDB_CONFIG: file }).auth.token_hashes, [A, B])
  t.same(load({ RSTMDB_CONFIG: file, RSTMDB_AUTH_TOKEN_HASH: C }).auth.token_hashes, [A, B, C], 'env is appended')
  t.same(load({ RSTMDB_CONFIG: file, RSTMDB_AUTH_TOKEN_HASH: ` ${C} , ${A}, ` }).auth.token_hashes, [A, B, C], 'comma-separated, deduplicated')

  const bad = writeIn(dir, 'bad.yaml', `auth:\n  token_hashes: [${A}, my-secret-token]\n`)
  const message = configErrorOf(() => load({ RSTMDB_CONFIG: bad }))
  t.equal(message, `invalid auth.token_hashes in config file '${bad}': invalid entry 2: ${USAGE}`)
  t.notMatch(message, 'my-secret-token', 'a pasted token is not echoed')
  t.equal(configErrorOf(() => load({ RSTMDB_AUTH_TOKEN_HASH: `${A},${A.slice(1)}` })), `invalid RSTMDB_AUTH_TOKEN_HASH: invalid entry 2: ${USAGE}`)
  t.equal(configErrorOf(() => load({ RSTMDB_AUTH_TOKEN_HASH: `${'g'.repeat(64)}` })), `invalid RSTMDB_AUTH_TOKEN_HASH: invalid entry 1: ${USAGE}`)
  const scalar = writeIn(dir, 'scalar.yaml', 'auth:\n  token_hashes: 5\n')
  t.equal(configErrorOf(() => load({ RSTMDB_CONFIG: scalar })),
    `invalid auth.token_hashes in config file '${scalar}': expected a list of strings or a comma-separated string`)
})

t.test('secrets file: appended, trimmed, comments and blanks skipped', async (t) => {
  const dir = tempDir(t)
  const secrets = writeIn(dir, 'tokens', `# issued 2024\n\n  ${C.toUpperCase()}  \r\n${A}\n   # indented comment\n`)
  const file = writeIn(dir, 'auth.yaml', `auth:\n  required: true\n  token_hashes: [${A}]\n  secrets_file: tokens\n`)
  const config = load({ RSTMDB_CONFIG: file, RSTMDB_AUTH_TOKEN_HASH: B }, dir)
  t.same(config.auth, { required: true, token_hashes: [A, B, C], secrets_file: secrets })
  t.same(load({ RSTMDB_AUTH_REQUIRED: 'on', RSTMDB_AUTH_SECRETS_FILE: secrets }).auth.token_hashes, [C, A], 'the secrets file alone satisfies auth.required')

  const missing = join(dir, 'nope')
  t.equal(configErrorOf(() => load({ RSTMDB_AUTH_SECRETS_FILE: missing })),
    `failed to read auth.secrets_file '${missing}': ENOENT: no such file or directory`)
  const bad = writeIn(dir, 'bad-tokens', `${A}\n# ok\nnot-a-hash\n`)
  t.equal(configErrorOf(() => load({ RSTMDB_AUTH_SECRETS_FILE: bad })), `invalid auth.secrets_file '${bad}' line 3: ${USAGE}`)
  t.same(load({ RSTMDB_AUTH_SECRETS_FILE: writeIn(dir, 'empty', '') }).auth.token_hashes, [], 'an empty secrets file adds nothing')
})

t.test('§3.3 tls: cert and key must be set, readable, parseable and match', async (t) => {
  const dir = tempDir(t)
  const cert = writeIn(dir, 'cert.pem', CERT)
  const key = writeIn(dir, 'key.pem', KEY)
  const other = writeIn(dir, 'other.pem', OTHER_KEY)
  const garbage = writeIn(dir, 'garbage.pem', '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n')
  const missing = join(dir, 'missing.pem')
  const on = { RSTMDB_TLS_ENABLED: 'true' }

  t.equal(configErrorOf(() => load({ ...on, RSTMDB_TLS_KEY: key })), 'tls.enabled is true but tls.cert_path is not set')
  t.equal(configErrorOf(() => load({ ...on, RSTMDB_TLS_CERT: cert })), 'tls.enabled is true but tls.key_path is not set')
  t.equal(configErrorOf(() => load({ ...on, RSTMDB_TLS_CERT: missing, RSTMDB_TLS_KEY: key })),
    `cannot read tls.cert_path '${missing}': ENOENT: no such file or directory`)
  t.equal(configErrorOf(() => load({ ...on, RSTMDB_TLS_CERT: cert, RSTMDB_TLS_KEY: missing })),
    `cannot read tls.key_path '${missing}': ENOENT: no such file or directory`)
  t.match(configErrorOf(() => load({ ...on, RSTMDB_TLS_CERT: garbage, RSTMDB_TLS_KEY: key })),
    `cannot parse tls.cert_path '${garbage}' as a PEM certificate: `)
  t.match(configErrorOf(() => load({ ...on, RSTMDB_TLS_CERT: key, RSTMDB_TLS_KEY: key })),
    `cannot parse tls.cert_path '${key}' as a PEM certificate: `, 'a key is not a certificate')
  t.match(configErrorOf(() => load({ ...on, RSTMDB_TLS_CERT: cert, RSTMDB_TLS_KEY: garbage })),
    `cannot parse tls.key_path '${garbage}' as a PEM private key: `)
  t.equal(configErrorOf(() => load({ ...on, RSTMDB_TLS_CERT: cert, RSTMDB_TLS_KEY: other })),
    `tls.key_path '${other}' does not match the certificate in tls.cert_path '${cert}'`)

  const config = load({ ...on, RSTMDB_TLS_CERT: cert, RSTMDB_TLS_KEY: key })
  const { material, ...paths } = config.tls
  t.same(paths, { enabled: true, cert_path: cert, key_path: key, require_client_cert: false, client_ca_path: null })
  if (material === null) throw new Error('expected the TLS material in the loaded config')
  t.equal(material.cert.toString(), CERT)
  t.equal(material.key.toString(), KEY)
  t.equal(material.ca, null)
  t.same(load({ RSTMDB_TLS_CERT: missing }).tls.cert_path, missing, 'paths are not checked while tls is disabled')
})

t.test('§3.4 require_client_cert needs client_ca_path', async (t) => {
  const dir = tempDir(t)
  const tls = {
    RSTMDB_TLS_ENABLED: 'yes',
    RSTMDB_TLS_CERT: writeIn(dir, 'cert.pem', CERT),
    RSTMDB_TLS_KEY: writeIn(dir, 'key.pem', KEY),
    RSTMDB_TLS_REQUIRE_CLIENT_CERT: 'true'
  }
  t.equal(configErrorOf(() => load(tls)), 'tls.require_client_cert is true but tls.client_ca_path is not set')
  const ca = writeIn(dir, 'ca.pem', CERT)
  const config = load({ ...tls, RSTMDB_TLS_CLIENT_CA: ca })
  t.same(config.warnings, [])
  t.equal(config.tls.material?.ca?.toString(), CERT)
  const garbage = writeIn(dir, 'garbage.pem', 'not pem')
  t.match(configErrorOf(() => load({ ...tls, RSTMDB_TLS_CLIENT_CA: garbage })),
    `cannot parse tls.client_ca_path '${garbage}' as a PEM certificate: `)

  const disabled = load({ RSTMDB_TLS_REQUIRE_CLIENT_CERT: 'true' })
  t.same(disabled.warnings, ['tls.require_client_cert is ignored because tls.enabled is false'])
})

t.test('§3.5 values out of range name the variable', async (t) => {
  const minimumOne = [
    'RSTMDB_WAL_SEGMENT_SIZE_MB', 'RSTMDB_SUBSCRIPTION_QUEUE_LIMIT', 'RSTMDB_MAX_CONNECTIONS',
    'RSTMDB_IDEMPOTENCY_TTL_SECS', 'RSTMDB_IDEMPOTENCY_MAX_KEYS', 'RSTMDB_HTTP_BODY_LIMIT'
  ]
  for (const name of minimumOne) {
    t.equal(configErrorOf(() => load({ [name]: '0' })), `invalid ${name}: expected an integer >= 1, got '0'`, name)
  }
  t.equal(configErrorOf(() => load({ RSTMDB_IDLE_TIMEOUT: '2147484' })),
    "invalid RSTMDB_IDLE_TIMEOUT: expected an integer from 0 to 2147483, got '2147484'", 'timers stay below 2^31 ms')
  t.equal(configErrorOf(() => load({ RSTMDB_HTTP_BIND: '127.0.0.1:70000' })),
    "invalid RSTMDB_HTTP_BIND: expected host:port or [ipv6]:port with a port from 0 to 65535, got '127.0.0.1:70000'")
})

t.test('describeConfig logs counts and formatted values, never hashes', async (t) => {
  const dir = tempDir(t)
  const file = writeIn(dir, 'c.yaml', `auth:\n  required: true\n  token_hashes: [${A}, ${B}]\nstorage:\n  fsync_policy: { every_ms: 50 }\n`)
  const config = load({ RSTMDB_CONFIG: file, RSTMDB_BIND: '[::1]:7401' })
  const described = describeConfig(config)
  t.notMatch(JSON.stringify(described), A.slice(0, 16))
  t.notMatch(JSON.stringify(described), B.slice(0, 16))
  t.same(described.auth, { required: true, token_count: 2, secrets_file: null })
  t.match(described, {
    file,
    network: { bind_addr: '[::1]:7401', idle_timeout_secs: 300, max_connections: 1000 },
    storage: { fsync_policy: 'every_ms:50', data_dir: '/srv/rstmdb/data' },
    metrics: { bind_addr: '127.0.0.1:9090' },
    http: { bind_addr: '127.0.0.1:8080', cors_origins: [] },
    tls: { enabled: false, cert_path: null }
  })
  t.same(Object.keys(described), ['file', 'network', 'storage', 'auth', 'tls', 'compaction', 'metrics', 'logging', 'subscriptions', 'http', 'cluster'])
})

t.test('formatters', async (t) => {
  t.equal(formatFsyncPolicy({ kind: 'every_write' }), 'every_write')
  t.equal(formatFsyncPolicy({ kind: 'every_n', n: 100 }), 'every_n:100')
  t.equal(formatFsyncPolicy({ kind: 'every_ms', ms: 50 }), 'every_ms:50')
  t.equal(formatFsyncPolicy({ kind: 'never' }), 'never')
  t.equal(formatAddress({ host: '127.0.0.1', port: 7401 }), '127.0.0.1:7401')
  t.equal(formatAddress({ host: '::', port: 0 }), '[::]:0')
})
