import { hostname } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { describeConfig, loadConfig, type Config } from '../../src/config.js'
import { tempDir } from '../support/temp-dir.js'
import { CERT, configErrorOf, KEY, writeIn } from './helpers.js'

function load (env: Record<string, string>, cwd = '/srv/rstmdb'): Config {
  return loadConfig({ env, cwd })
}

t.test('node_id: <hostname>-<pid> unless set, no spaces', async (t) => {
  t.equal(load({}).cluster.node_id, `${hostname()}-${process.pid}`)
  t.equal(load({ RSTMDB_NODE_ID: ' node-1 ' }).cluster.node_id, 'node-1', 'trimmed')
  t.equal(configErrorOf(() => load({ RSTMDB_NODE_ID: 'node 1' })),
    "invalid RSTMDB_NODE_ID: expected a name without spaces, got 'node 1'")
})

t.test('stream: letters, digits, _ and - (it also names the KV and object store buckets)', async (t) => {
  for (const good of ['RSTMDB', 'orders_2', 'a-b']) t.equal(load({ RSTMDB_CLUSTER_STREAM: good }).cluster.stream, good)
  for (const bad of ['a.b', 'a b', 'a*', 'a>', 'or/ders', 'ünï']) {
    t.equal(configErrorOf(() => load({ RSTMDB_CLUSTER_STREAM: bad })),
      `invalid RSTMDB_CLUSTER_STREAM: expected letters, digits, '_' or '-', got '${bad}'`, bad)
  }
})

t.test('subject_prefix: dot-separated NATS tokens without wildcards, spaces or a leading $', async (t) => {
  for (const good of ['rstmdb', 'acme.rstmdb', 'a-1_b.c.d', 'prod$1', 'ünï.code']) {
    t.equal(load({ RSTMDB_CLUSTER_SUBJECT_PREFIX: good }).cluster.subject_prefix, good, good)
  }
  const expects = "expected NATS subject tokens separated by single dots, without spaces, '*', '>' or a leading '$'"
  for (const bad of ['a..b', '.a', 'a.', 'a b', 'a\tb', 'a.*', '*', 'a.>', '>', 'a*b', '$JS', 'x.$KV\u0001']) {
    t.equal(configErrorOf(() => load({ RSTMDB_CLUSTER_SUBJECT_PREFIX: bad })),
      `invalid RSTMDB_CLUSTER_SUBJECT_PREFIX: ${expects}, got '${bad}'`, JSON.stringify(bad))
  }
})

t.test('replicas 1 to 5, lease_ms >= 300, waits >= 0', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['RSTMDB_CLUSTER_REPLICAS', '0', 'expected an integer from 1 to 5'],
    ['RSTMDB_CLUSTER_REPLICAS', '6', 'expected an integer from 1 to 5'],
    ['RSTMDB_CLUSTER_LEASE_MS', '299', 'expected an integer from 300 to 2147483647'],
    ['RSTMDB_CLUSTER_LEASE_MS', '2147483648', 'expected an integer from 300 to 2147483647'],
    ['RSTMDB_CLUSTER_WRITE_WAIT_MS', '-1', 'expected an integer from 0 to 2147483647'],
    ['RSTMDB_CLUSTER_READ_WAIT_MS', '2147483648', 'expected an integer from 0 to 2147483647'],
    ['RSTMDB_HISTORY_RETENTION_SECS', '-1', 'expected an integer >= 0']
  ]
  for (const [name, value, expects] of cases) {
    t.equal(configErrorOf(() => load({ [name]: value })), `invalid ${name}: ${expects}, got '${value}'`, `${name}=${value}`)
  }
})

t.test('nats_servers: URLs or host:port, comma-separated in env, entries never echoed', async (t) => {
  t.same(load({ RSTMDB_NATS_SERVERS: 'nats://a:4222,tls://b.example:4223, ws://[::1]:8080 ,c' }).cluster.nats_servers,
    ['nats://a:4222', 'tls://b.example:4223', 'ws://[::1]:8080', 'c'])
  const expects = 'expected nats://host:port, tls://host:port or host:port'
  const bad: Array<[string, number]> = [
    ['nats://a:4222,nats://user:hunter2@b:4222', 2],
    ['http://a:4222', 1],
    ['nats://a:4222/path', 1],
    ['a b:4222', 1]
  ]
  for (const [value, entry] of bad) {
    const message = configErrorOf(() => load({ RSTMDB_NATS_SERVERS: value }))
    t.equal(message, `invalid RSTMDB_NATS_SERVERS: invalid entry ${entry}: ${expects}`, value)
  }
  t.notMatch(configErrorOf(() => load({ RSTMDB_NATS_SERVERS: 'nats://user:hunter2@b:4222' })), 'hunter2')
  const dir = tempDir(t)
  const file = writeIn(dir, 'servers.yaml', 'cluster:\n  nats_servers: [nats://a:4222, 5]\n')
  t.equal(configErrorOf(() => load({ RSTMDB_CONFIG: file })),
    `invalid cluster.nats_servers in config file '${file}': expected a list of strings or a comma-separated string`)
})

t.test('enabled needs at least one NATS server', async (t) => {
  t.equal(configErrorOf(() => load({ RSTMDB_CLUSTER_ENABLED: 'true', RSTMDB_NATS_SERVERS: ' , ' })),
    'cluster.enabled is true but cluster.nats_servers is empty')
  t.same(load({ RSTMDB_NATS_SERVERS: ',' }).cluster.nats_servers, [], 'not checked while disabled')
})

t.test('nats_user and nats_password go together', async (t) => {
  const message = 'cluster.nats_user and cluster.nats_password must be set together'
  t.equal(configErrorOf(() => load({ RSTMDB_NATS_USER: 'rstmdb' })), message)
  t.equal(configErrorOf(() => load({ RSTMDB_NATS_PASSWORD: 'pw' })), message)
  const dir = tempDir(t)
  const file = writeIn(dir, 'creds.yaml', 'cluster:\n  nats_user: from-file\n  nats_password: file-pw\n')
  t.match(load({ RSTMDB_CONFIG: file }).cluster, { nats_user: 'from-file', nats_password: 'file-pw' })
  t.match(load({ RSTMDB_CONFIG: file, RSTMDB_NATS_USER: 'u', RSTMDB_NATS_PASSWORD: 'p' }).cluster, { nats_user: 'u', nats_password: 'p' }, 'env over the file')
  t.match(load({ RSTMDB_CONFIG: file, RSTMDB_NATS_PASSWORD: 'p' }).cluster, { nats_user: 'from-file', nats_password: 'p' }, 'each key on its own')
})

t.test('nats_tls_ca is read and checked once, when the cluster is enabled', async (t) => {
  const dir = tempDir(t)
  const ca = writeIn(dir, 'ca.pem', CERT)
  const notCert = writeIn(dir, 'key.pem', KEY)
  const missing = join(dir, 'missing.pem')
  const on = { RSTMDB_CLUSTER_ENABLED: 'true' }
  t.equal(load({ ...on, RSTMDB_NATS_TLS_CA: ca }).cluster.nats_tls_ca_pem?.toString(), CERT)
  t.equal(load({ ...on }).cluster.nats_tls_ca_pem, null, 'no CA configured')
  t.equal(configErrorOf(() => load({ ...on, RSTMDB_NATS_TLS_CA: missing })),
    `cannot read cluster.nats_tls_ca '${missing}': ENOENT: no such file or directory`)
  t.match(configErrorOf(() => load({ ...on, RSTMDB_NATS_TLS_CA: notCert })),
    `cannot parse cluster.nats_tls_ca '${notCert}' as a PEM certificate: `)
  const disabled = load({ RSTMDB_NATS_TLS_CA: missing })
  t.equal(disabled.cluster.nats_tls_ca, missing, 'the path is kept while disabled')
  t.equal(disabled.cluster.nats_tls_ca_pem, null, 'and not read')
})

t.test('the startup log never shows the NATS token or password', async (t) => {
  const secrets = { RSTMDB_NATS_TOKEN: 'tok-1234567890', RSTMDB_NATS_USER: 'rstmdb', RSTMDB_NATS_PASSWORD: 'pw-0987654321' }
  const config = load(secrets)
  const described = describeConfig(config)
  const text = JSON.stringify(described)
  t.notMatch(text, 'tok-1234567890')
  t.notMatch(text, 'pw-0987654321')
  const { nats_tls_ca_pem: pem, ...keys } = config.cluster
  t.equal(pem, null)
  t.same(described.cluster, { ...keys, nats_token: '[redacted]', nats_user: 'rstmdb', nats_password: '[redacted]' })
  t.match(describeConfig(load({})).cluster, { nats_token: null, nats_password: null }, 'unset secrets show as null')
  t.match(describeConfig(load({})).storage, { history_retention_secs: 604800 })
})
