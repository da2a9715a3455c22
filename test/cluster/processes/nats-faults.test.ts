import t, { type Test } from 'tap'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { RcpError } from 'rstmdb'
import { ORDER } from '../../support/machines.js'
import { allApplied, clientOf, keyedLoad, leaderOf, startCluster, stateAt, until, type TestCluster } from '../../support/cluster.js'

/**
 * NATS servers failing under a running cluster of real processes (cluster.md §8, issue
 * "Bad input and faults"): kill -9 of the server that leads the stream under load, and every
 * server gone at once. Writes fail fast with a retryable error and resume by themselves;
 * reads keep being served; nothing acknowledged is lost; every node converges.
 */

const cluster = await startCluster(t)
const setup = await clientOf(t, cluster.addresses)
await setup.putMachine({ machine: 'order', version: 1, definition: ORDER })
const instances = cluster.nodes.map((n) => `x-${n.id}`)
for (const id of instances) await setup.createInstance({ machine: 'order', version: 1, instance_id: id })

/** Every acknowledged write is in every node's log at its offset, and all nodes hold the same state. */
async function converged (t: Test, c: TestCluster, acked: Map<string, number>): Promise<void> {
  const leader = await leaderOf(c.nodes)
  const last = await (await clientOf(t, leader.address)).applyEvent({ instance_id: instances[0], event: 'NOTE', payload: { key: 'last' } })
  await allApplied(c.nodes, last.wal_offset)
  const states = await Promise.all(c.nodes.map(async (n) => await stateAt(await clientOf(t, n.address), last.wal_offset)))
  for (let i = 1; i < states.length; i++) t.equal(states[i], states[0], `${c.nodes[i].id} has the state of ${c.nodes[0].id}`)
  const keys = new Map<number, string | undefined>()
  for (const r of JSON.parse(states[0]).log as Array<{ sequence: number, entry: { payload?: { key?: string } } }>) keys.set(r.sequence, r.entry.payload?.key)
  const lost = [...acked].filter(([key, offset]) => keys.get(offset) !== key)
  t.same(lost, [], `all ${acked.size} acknowledged writes are in the log at their offsets`)
}

t.test('kill -9 of the NATS server leading the stream, under load: writes resume, nothing acknowledged is lost', async (t) => {
  const writers = await Promise.all(cluster.nodes.map(async (n) => await clientOf(t, n.address)))
  const load = keyedLoad(writers, instances)
  await load.more(200)

  const nc = await connect({ servers: cluster.nats.urls })
  const streamLeader = (await (await jetstreamManager(nc)).streams.info('RSTMDB')).cluster?.leader
  await nc.close()
  const victim = cluster.nats.servers.find((s) => s.name === streamLeader)
  if (victim === undefined) throw new Error(`no server named ${String(streamLeader)}`)
  await victim.kill()
  await load.more(200)
  await load.stop()
  t.comment(`retryable failures while the stream moved: ${JSON.stringify(Object.fromEntries(load.failures))}`)
  await converged(t, cluster, load.acked)

  await victim.restart()
  await cluster.nats.waitForJetStream()
})

t.test('every NATS server gone: writes fail fast and retryable, reads are served with X-Wal-Offset; the nodes reconnect and catch up alone', async (t) => {
  const clients = await Promise.all(cluster.nodes.map(async (n) => await clientOf(t, n.address)))
  const before = await clients[0].applyEvent({ instance_id: instances[0], event: 'NOTE', payload: { key: 'before' } })
  await allApplied(cluster.nodes, before.wal_offset)

  await Promise.all(cluster.nats.servers.map(async (s) => await s.kill()))
  await until('every node knows it lost NATS', async () => {
    const ready = await Promise.all(cluster.nodes.map(async (n) => await (await fetch(`${n.url}/readyz`)).json() as { status: string }))
    return ready.every((r) => r.status === 'nats_disconnected')
  })
  for (const [i, n] of cluster.nodes.entries()) {
    const started = performance.now()
    const err = await clients[i].applyEvent({ instance_id: instances[i], event: 'NOTE' }).then(() => null, (e: unknown) => e)
    t.ok(err instanceof RcpError, `${n.id}: the write is refused`)
    t.match(err, { code: 'WAL_IO_ERROR', retryable: true, details: { reason: /no_leader|leadership_lost/ } })
    t.comment(`${n.id} refused the write after ${Math.round(performance.now() - started)} ms`)

    const res = await fetch(`${n.url}/v1/instances/${instances[0]}`)
    t.equal(res.status, 200, `${n.id} still serves reads`)
    t.equal(Number(res.headers.get('x-wal-offset')), before.wal_offset, 'with the offset it has applied')
    t.match(await res.json(), { last_wal_offset: before.wal_offset })
    t.equal((await fetch(`${n.url}/readyz`)).status, 503, 'and is not ready')
  }

  await Promise.all(cluster.nats.servers.map(async (s) => await s.restart()))
  await cluster.nats.waitForJetStream()
  await until('every node ready again', async () => {
    const statuses = await Promise.all(cluster.nodes.map(async (n) => (await fetch(`${n.url}/readyz`)).status))
    return statuses.every((s) => s === 200)
  })
  const load = keyedLoad(clients, instances)
  await load.more(100)
  await load.stop()
  await converged(t, cluster, load.acked)
})
