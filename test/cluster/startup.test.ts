import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { IncompatibleSettingsError, NatsConnectError } from '../../storage/jetstream/index.js'
import { freePort } from '../support/server.js'
import { makeCerts } from '../support/certs.js'
import { natsFor, nodesFor, startNode } from './helpers.js'

/** A node refuses to start, with a message naming what to fix (cluster.md §2, §5). */

t.test('NATS unreachable: a clear error naming the servers and the option, without hanging', async (t) => {
  const ports = [await freePort(), await freePort()]
  const servers = ports.map((p) => `nats://127.0.0.1:${p}`)
  const err = await startNode(servers, 'lonely').then(() => null, (e: unknown) => e)
  t.ok(err instanceof NatsConnectError, 'NatsConnectError')
  t.match((err as Error).message, servers[0])
  t.match((err as Error).message, servers[1])
  t.match((err as Error).message, 'cluster.nats_servers')
})

t.test('credentials: a token or a user and password; wrong ones are reported as such', async (t) => {
  const byToken = await natsFor(t, 1, { args: ['--auth', 's3cret'] })
  const err = await startNode(byToken.urls, 'n', { cluster: { nats_token: 'wrong' } }).then(() => null, (e: unknown) => e)
  t.ok(err instanceof NatsConnectError)
  t.match((err as Error).message, /cluster\.nats_token/)
  const nodes = nodesFor(t)
  nodes.push(await startNode(byToken.urls, 'n', { cluster: { nats_token: 's3cret' } }))
  t.ok(nodes[0].node.isReady(), 'the right token works')

  const byUser = await natsFor(t, 1, { args: ['--user', 'rst', '--pass', 'pw'] })
  const bad = await startNode(byUser.urls, 'u', { cluster: { nats_user: 'rst', nats_password: 'nope' } }).then(() => null, (e: unknown) => e)
  t.match((bad as Error).message, /cluster\.nats_user and cluster\.nats_password/)
  nodes.push(await startNode(byUser.urls, 'u', { cluster: { nats_user: 'rst', nats_password: 'pw' } }))
  t.ok(nodes[1].node.isReady(), 'the right user and password work')
})

t.test('TLS: the servers\' certificates are checked against cluster.nats_tls_ca', async (t) => {
  const certs = makeCerts()
  const nats = await natsFor(t, 1, { args: ['--tls', '--tlscert', certs.serverCert, '--tlskey', certs.serverKey] })
  const nodes = nodesFor(t)
  nodes.push(await startNode(nats.urls, 'n', { cluster: { nats_tls_ca: certs.ca } }))
  t.ok(nodes[0].node.isReady(), 'the CA that signed them')
  const err = await startNode(nats.urls, 'm', { cluster: { nats_tls_ca: certs.otherCa } }).then(() => null, (e: unknown) => e)
  t.ok(err instanceof NatsConnectError, 'another CA')
  t.match((err as Error).message, /cluster\.nats_tls_ca/)
})

t.test('a stream with other settings is refused, naming the setting', async (t) => {
  const nats = await natsFor(t, 1)
  const nc = await connect({ servers: nats.urls })
  t.teardown(() => nc.close())
  const jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name: 'AGED', subjects: ['rstmdb.log.>'], max_age: 3_600_000_000_000, deny_delete: true })
  const aged = await startNode(nats.urls, 'n', { cluster: { stream: 'AGED' } }).then(() => null, (e: unknown) => e)
  t.ok(aged instanceof IncompatibleSettingsError)
  t.match(aged, { setting: 'max_age', message: /stream "AGED" has max_age = 3600000000000/ })

  await jsm.streams.add({ name: 'OTHER', subjects: ['other.log.>'], deny_delete: true })
  const other = await startNode(nats.urls, 'n', { cluster: { stream: 'OTHER', subject_prefix: 'mine' } }).then(() => null, (e: unknown) => e)
  t.match(other, { setting: 'subjects', message: /cluster\.subject_prefix/ })

  const replicas = await startNode(nats.urls, 'n', { cluster: { stream: 'FRESH', replicas: 3 } }).then(() => null, (e: unknown) => e)
  t.match((replicas as Error).message, /cannot create JetStream stream "FRESH".*cluster\.replicas/, 'three replicas on one server')
})

t.test('a leader bucket with another TTL is refused, naming lease_ms', async (t) => {
  const nats = await natsFor(t, 1)
  const nc = await connect({ servers: nats.urls })
  t.teardown(() => nc.close())
  await new Kvm(nc).create('RSTMDB_LEADER', { ttl: 60_000, history: 1 })
  const err = await startNode(nats.urls, 'n', { cluster: { lease_ms: 1500 } }).then(() => null, (e: unknown) => e)
  t.ok(err instanceof IncompatibleSettingsError)
  t.match(err, { setting: 'max_age', message: /key-value bucket "RSTMDB_LEADER".*cluster\.lease_ms/ })
})

t.test('a node created the stream with the settings of cluster.md §2; the next node accepts them', async (t) => {
  const nats = await natsFor(t, 1)
  const nodes = nodesFor(t)
  nodes.push(await startNode(nats.urls, 'a'))
  nodes.push(await startNode(nats.urls, 'b'))
  const nc = await connect({ servers: nats.urls })
  t.teardown(() => nc.close())
  const config = (await (await jetstreamManager(nc)).streams.info('RSTMDB')).config
  t.match(config, {
    subjects: ['rstmdb.log.>'], storage: 'file', num_replicas: 1, max_age: 0, max_msgs: -1, max_bytes: -1, deny_delete: true, deny_purge: false,
  })
  t.match(nodes[1].node.report, { source: 'jetstream', stream: 'RSTMDB', snapshot: null })
})
