import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { Kvm } from '@nats-io/kv'
import { RcpError } from '../../protocol/errors.js'
import { LEADER_KEY } from '../../storage/jetstream/index.js'
import { allAt, call, electedLeader, leadersOf, LEASE_MS, natsFor, nodesFor, ORDER, proxyFor, roles, startNode, until } from './helpers.js'

/** Requests on any node (cluster.md §4): forwarding, the no-leader wait, read-your-writes, a node without NATS. */

const failure = async (p: Promise<unknown>): Promise<RcpError> => {
  try {
    await p
  } catch (err) {
    if (err instanceof RcpError) return err
    throw err
  }
  throw new Error('expected an RcpError')
}

t.test('no leader: writes wait up to write_wait_ms, then WAL_IO_ERROR no_leader; a leader that appears takes them', async (t) => {
  const nats = await natsFor(t, 1)
  // someone holds the lease and never answers: no node may lead while it renews (a long
  // lease, so a busy machine cannot make it lapse between two renewals)
  const lease = 4 * LEASE_MS
  const nc = await connect({ servers: nats.urls })
  t.teardown(() => nc.close())
  const kv = await new Kvm(nc).create('RSTMDB_LEADER', { ttl: lease, history: 1 })
  let revision = await kv.create(LEADER_KEY, JSON.stringify({ node_id: 'ghost', rcp_addr: null, http_addr: null, term: null }))
  let renewing = true
  const renewal = (async () => {
    // eslint-disable-next-line no-unmodified-loop-condition -- the test sets renewing to false while this loop awaits
    while (renewing) {
      revision = await kv.update(LEADER_KEY, JSON.stringify({ node_id: 'ghost', rcp_addr: null, http_addr: null, term: 1 }), revision)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })()
  const nodes = nodesFor(t)
  nodes.push(
    await startNode(nats.urls, 'a', { cluster: { lease_ms: lease, write_wait_ms: 600 } }),
    await startNode(nats.urls, 'b', { cluster: { lease_ms: lease, write_wait_ms: 30_000 } }))
  const [a, b] = nodes
  await until('the nodes see the ghost leader', () => nodes.every((n) => n.node.status().leader?.node_id === 'ghost'))
  t.ok(nodes.every((n) => n.node.status().role === 'follower'), 'nobody campaigns while the lease is held')
  const err = await failure(call(a, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER }))
  t.match(err, { code: 'WAL_IO_ERROR', retryable: true, details: { reason: 'no_leader' } })

  // a write that starts while there is no leader completes once one takes over
  const pending = call(b, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  renewing = false
  await renewal
  t.equal((await pending).result.created, true)
  t.equal(leadersOf(nodes).length, 1, 'a node took over when the lease expired')
})

t.test('read-your-writes: min_offset waits for the node to apply it, up to read_wait_ms, then replica_behind', async (t) => {
  const nats = await natsFor(t, 1)
  const nodes = nodesFor(t)
  const leader = await startNode(nats.urls, 'leader')
  nodes.push(leader)
  await electedLeader(nodes)
  // one follower that waits long (the read it waits for must not depend on how busy the machine is), one that gives up soon
  const patient = await startNode(nats.urls, 'patient', { cluster: { read_wait_ms: 20_000 } })
  const hasty = await startNode(nats.urls, 'hasty', { cluster: { read_wait_ms: 300 } })
  nodes.push(patient, hasty)
  const put = await call(leader, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  t.match((await call(patient, 'GET_MACHINE', { machine: 'order', min_offset: put.walOffset })).result, { machine: 'order', version: 1 }, 'a read at the write\'s offset sees it')

  const ahead = put.walOffset + 1
  const err = await failure(call(hasty, 'LIST_INSTANCES', { min_offset: ahead + 100 }))
  t.match(err, { code: 'WAL_IO_ERROR', retryable: true, details: { reason: 'replica_behind', min_offset: ahead + 100 } })
  t.ok((err.details.applied_offset as number) < ahead + 100)

  const waiting = call(patient, 'GET_INSTANCE', { instance_id: 'soon', min_offset: ahead })
  await call(leader, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'soon' })
  t.match((await waiting).result, { instance_id: 'soon', last_wal_offset: ahead }, 'a waiting read completes once the offset is applied')
})

t.test('errors of forwarded writes come back as the leader gave them', async (t) => {
  const nats = await natsFor(t, 1)
  const nodes = nodesFor(t)
  nodes.push(await startNode(nats.urls, 'a'), await startNode(nats.urls, 'b'))
  const { follower } = await roles(nodes)
  t.match(await failure(call(follower, 'APPLY_EVENT', { instance_id: 'nope', event: 'PAY' })), { code: 'INSTANCE_NOT_FOUND', details: { instance_id: 'nope' } })
  t.match(await failure(call(follower, 'CREATE_INSTANCE', { machine: 'order' })), { code: 'BAD_REQUEST' })
  await call(follower, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  t.match(await failure(call(follower, 'PUT_MACHINE', { machine: 'order', version: 1, definition: { ...ORDER, initial: 'paid' } })),
    { code: 'MACHINE_VERSION_EXISTS', details: { machine: 'order', version: 1 } })
  t.equal(follower.node.counters().forwarded, 1, 'only writes that succeeded count as forwarded')
})

t.test('a node without NATS keeps serving reads, fails writes at once, and catches up when NATS is back', async (t) => {
  const nats = await natsFor(t, 1)
  const proxy = await proxyFor(t, nats)
  const nodes = nodesFor(t)
  nodes.push(await startNode(nats.urls, 'a'))
  const leader = await electedLeader(nodes)
  const cut = await startNode([proxy.url], 'cut', { cluster: { write_wait_ms: 1000 } })
  nodes.push(cut)
  const put = await call(leader, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await allAt(nodes, put.walOffset)

  // NATS is gone for this node: its connection breaks and reconnecting fails
  proxy.refuse()
  proxy.cut()
  const write = async (): Promise<RcpError> => await failure(call(cut, 'CREATE_INSTANCE', { machine: 'order', version: 1 }))
  await until('writes fail at once', async () => (await write()).message.includes('lost its connection to NATS'))
  t.match(await write(), { code: 'WAL_IO_ERROR', retryable: true, details: { reason: 'no_leader' } })
  t.match((await call(cut, 'GET_MACHINE', { machine: 'order' })).result, { machine: 'order' }, 'reads are served from local state')
  const meanwhile = await call(leader, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'meanwhile' })

  proxy.accept()
  await allAt(nodes, meanwhile.walOffset)
  t.match((await call(cut, 'GET_INSTANCE', { instance_id: 'meanwhile' })).result, { last_wal_offset: meanwhile.walOffset }, 'caught up by itself')
  t.equal((await call(cut, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'back' })).result.instance_id, 'back', 'and forwards writes again')
})
