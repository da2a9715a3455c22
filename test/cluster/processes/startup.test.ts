import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { RcpError } from 'rstmdb'
import { ORDER } from '../../support/machines.js'
import { startNats } from '../../support/nats.js'
import { freePort, runServer } from '../../support/server.js'
import { clientOf, leaderOf, startCluster } from '../../support/cluster.js'

/**
 * The server binary in cluster mode refusing what it cannot work with (cluster.md §2, §5;
 * issue "Bad input and faults"): no NATS to reach, a stream set up otherwise, records larger
 * than the servers' max_payload.
 */

const clusterEnv = (servers: string, extra: Record<string, string> = {}): Record<string, string> => ({
  RSTMDB_CLUSTER_ENABLED: 'true',
  RSTMDB_NATS_SERVERS: servers,
  RSTMDB_CLUSTER_REPLICAS: '1',
  ...extra,
})

t.test('NATS unreachable at start: exit 1 with a message naming the servers and the option, without hanging', async (t) => {
  const servers = [`nats://127.0.0.1:${await freePort()}`, `nats://127.0.0.1:${await freePort()}`]
  const run = await runServer(t, { env: clusterEnv(servers.join(',')), timeoutMs: 30_000 })
  t.equal(run.code, 1)
  t.match(run.stderr, `cannot connect to NATS at ${servers.join(', ')}`)
  t.match(run.stderr, 'cluster.nats_servers')
  t.match(run.stdout, /"message":"startup failed"/, 'logged as an expected refusal')
  t.notMatch(run.stdout, /"stack"/, 'one line, no stack trace')
})

t.test('a stream with incompatible settings: exit 1 naming the setting', async (t) => {
  const nats = await startNats(1)
  t.teardown(() => nats.stop())
  const nc = await connect({ servers: nats.urls })
  await (await jetstreamManager(nc)).streams.add({ name: 'RSTMDB', subjects: ['rstmdb.log.>'], max_age: 3_600_000_000_000, deny_delete: true })
  await nc.close()
  const run = await runServer(t, { env: clusterEnv(nats.urls.join(',')), timeoutMs: 30_000 })
  t.equal(run.code, 1)
  t.match(run.stderr, /stream "RSTMDB" has max_age = 3600000000000/)
})

t.test('servers with the default max_payload: a warning at start, larger records refused with record_too_large, nothing written', async (t) => {
  const cluster = await startCluster(t, { nodes: 2, nats: 1, natsOptions: { maxPayload: 1024 * 1024 } })
  for (const n of cluster.nodes) {
    t.match(n.logs().find((l) => /max_payload/.test(String(l.message))), { level: 'warn', max_payload: 1024 * 1024 }, `${n.id} warns at start`)
  }
  const leader = await leaderOf(cluster.nodes)
  const follower = cluster.nodes.find((n) => n !== leader) ?? leader
  const sdk = await clientOf(t, leader.address)
  await sdk.putMachine({ machine: 'order', version: 1, definition: ORDER })
  const head = (await sdk.info()).wal_offset
  const big = { blob: 'x'.repeat(1024 * 1024 + 10) }
  for (const n of [leader, follower]) {
    const err = await (await clientOf(t, n.address)).createInstance({ machine: 'order', version: 1, instance_id: `big-${n.id}`, initial_ctx: big }).then(() => null, (e: unknown) => e)
    t.ok(err instanceof RcpError, `refused through ${n === leader ? 'the leader' : 'a follower'}`)
    t.match(err, { code: 'BAD_REQUEST', retryable: false, details: { reason: 'record_too_large' } })
    t.ok(((err as RcpError).details.limit as number) <= 1024 * 1024, 'the limit comes from the servers\' max_payload')
  }
  t.equal((await sdk.info()).wal_offset, head, 'nothing was written')
  const small = await sdk.createInstance({ machine: 'order', version: 1, instance_id: 'small', initial_ctx: { blob: 'x'.repeat(512 * 1024) } })
  t.equal(small.wal_offset, head + 1, 'a record under the limit is taken')
})
