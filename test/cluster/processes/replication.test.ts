import t from 'tap'
import { RcpError } from 'rstmdb'
import { collect } from '../../support/client.js'
import { ORDER } from '../../support/machines.js'
import { allApplied, clientOf, isEmptyDir, leaderOf, startCluster, until } from '../../support/cluster.js'

/**
 * Three real rstmdb processes over three NATS servers (cluster.md §4): writes on any node,
 * reads of them on every node, read-your-writes through a follower on both faces, the INFO
 * cluster object, meta.leader, readiness and metrics; watchers on every node see the same
 * gapless offsets, and a watcher that loses its node resumes on another without a gap or a
 * duplicate. One cluster for the file: no test here kills a process.
 */

const cluster = await startCluster(t)
const [a] = cluster.nodes
const leader = await leaderOf(cluster.nodes)
const followers = cluster.nodes.filter((n) => n !== leader)
const clients = new Map(await Promise.all(cluster.nodes.map(async (n) => [n, await clientOf(t, n.address)] as const)))
const client = (n: typeof a) => clients.get(n) as NonNullable<ReturnType<typeof clients.get>>
await client(followers[0]).putMachine({ machine: 'order', version: 1, definition: ORDER })

t.test('a write on each node is readable on all three at its offset', async (t) => {
  const writes = await Promise.all(cluster.nodes.map(async (n, i) =>
    await client(n).createInstance({ machine: 'order', version: 1, instance_id: `via-${n.id}`, initial_ctx: { amount: i + 1 } })))
  for (const [i, w] of writes.entries()) {
    for (const n of cluster.nodes) {
      const got = await client(n).getInstance({ instance_id: `via-${cluster.nodes[i].id}`, min_offset: w.wal_offset })
      t.match(got, { state: 'pending', ctx: { amount: i + 1 }, last_wal_offset: w.wal_offset }, `${n.id} has the write made on ${cluster.nodes[i].id}`)
    }
  }
  // a follower answers a forwarded write only once it has applied it: reading back from it at once sees it
  const forwarded = await client(followers[1]).applyEvent({ instance_id: `via-${a.id}`, event: 'PAY' })
  t.match(await client(followers[1]).getInstance({ instance_id: `via-${a.id}` }), { state: 'paid', last_wal_offset: forwarded.wal_offset })
})

t.test('read-your-writes through a follower over REST: X-Wal-Offset of the write, X-Min-Wal-Offset on the read', async (t) => {
  const [first, second] = followers
  const created = await fetch(`${first.url}/v1/instances`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ machine: 'order', version: 1, instance_id: 'rest-1', initial_ctx: { amount: 3 } }),
  })
  t.equal(created.status, 201)
  const offset = Number(created.headers.get('x-wal-offset'))
  t.equal((await created.json() as { wal_offset: number }).wal_offset, offset, 'X-Wal-Offset is the write\'s offset')
  const read = await fetch(`${second.url}/v1/instances/rest-1`, { headers: { 'x-min-wal-offset': String(offset) } })
  t.equal(read.status, 200, 'the other follower answers once it has applied it')
  t.ok(Number(read.headers.get('x-wal-offset')) >= offset)
  t.match(await read.json(), { state: 'pending', last_wal_offset: offset })

  const wal = await fetch(`${second.url}/v1/wal?from_offset=${offset}&limit=1`, { headers: { 'x-min-wal-offset': String(offset) } })
  t.match(await wal.json(), { records: [{ sequence: offset, entry: { type: 'create_instance', instance_id: 'rest-1' } }] }, 'every read route takes it')
  const bad = await fetch(`${second.url}/v1/instances/rest-1`, { headers: { 'x-min-wal-offset': 'soon' } })
  t.equal(bad.status, 400)
  t.match(await bad.json(), { code: 'BAD_REQUEST', details: { field: 'x-min-wal-offset' } })
})

t.test('INFO, meta.leader, /readyz and the cluster metrics on every node', async (t) => {
  const head = (await client(leader).info()).wal_offset
  await allApplied(cluster.nodes, head)
  const infos = await Promise.all(cluster.nodes.map(async (n) => await client(n).requestWithMeta('INFO', { min_offset: head })))
  const term = infos[0].result.cluster?.term
  for (const [i, { result, meta }] of infos.entries()) {
    const n = cluster.nodes[i]
    const isLeader = n === leader
    t.match(result.cluster, {
      node_id: n.id,
      role: isLeader ? 'leader' : 'follower',
      term,
      leader: { node_id: leader.id, rcp_addr: leader.address, http_addr: leader.url.replace('http://', '') },
    }, `${n.id}: INFO cluster`)
    t.equal(result.wal_offset, result.cluster?.applied_offset, 'wal_offset is the highest applied offset')
    t.ok((result.cluster?.stream_last_offset ?? 0) >= head)
    t.equal(meta.leader, isLeader, `${n.id}: meta.leader only on the leader`)
    t.equal(meta.wal_offset, result.wal_offset)

    const ready = await fetch(`${n.url}/readyz`)
    t.equal(ready.status, 200, `${n.id} is ready`)
    const metrics = await (await fetch(`${n.url}/metrics`)).text()
    t.match(metrics, new RegExp(`^rstmdb_cluster_leader ${isLeader ? 1 : 0}$`, 'm'))
    t.match(metrics, new RegExp(`^rstmdb_cluster_term ${String(term)}$`, 'm'))
    t.match(metrics, /^rstmdb_cluster_applied_offset \d+$/m)
    t.match(metrics, /^rstmdb_cluster_lag_entries \d+$/m)
    t.match(metrics, /^rstmdb_cluster_elections_total \d+$/m)
    t.match(metrics, /^rstmdb_cluster_forwarded_total \d+$/m)
  }
  const forwarded = await Promise.all(followers.map(async (n) => Number(/^rstmdb_cluster_forwarded_total (\d+)$/m.exec(await (await fetch(`${n.url}/metrics`)).text())?.[1])))
  t.ok(forwarded.every((f) => f > 0), 'the followers counted the writes they forwarded')
  for (const n of cluster.nodes) t.ok(isEmptyDir(n.dataDir), `${n.id} wrote nothing to its data directory`)
})

t.test('watchers on all nodes see identical, gapless offsets under concurrent writers on every node', async (t) => {
  await Promise.all(cluster.nodes.map(async (n) => await client(n).createInstance({ machine: 'order', version: 1, instance_id: `w-${n.id}` })))
  const watchers = cluster.nodes.map((n) => collect(client(n).watchAll({ include_ctx: false })))
  await Promise.all(cluster.nodes.map(async (n) => await client(n).ping()))
  const writes = await Promise.all(cluster.nodes.flatMap((n, i) => Array.from({ length: 40 }, async (_, k) =>
    await client(n).applyEvent({ instance_id: `w-${cluster.nodes[(i + k) % 3].id}`, event: 'NOTE', payload: { k } }))))
  const offsets = writes.map((w) => w.wal_offset).sort((x, y) => x - y)
  const last = offsets[offsets.length - 1]
  for (const [i, w] of watchers.entries()) {
    await w.until((e) => e.wal_offset === last)
    t.same(w.events.map((e) => e.wal_offset), offsets, `${cluster.nodes[i].id}: every write once, in offset order`)
  }
})

t.test('a watcher whose node shuts down moves to another node in its list and misses nothing, sees nothing twice', async (t) => {
  const moving = followers[0]
  const sdk = await clientOf(t, [moving.address, leader.address])
  t.equal(sdk.server, moving.address)
  const watch = collect(sdk.watchInstance({ instance_id: 'w-' + a.id, include_ctx: false }))
  await sdk.ping()
  const writer = client(leader)
  const before: number[] = []
  for (let i = 0; i < 10; i++) before.push((await writer.applyEvent({ instance_id: 'w-' + a.id, event: 'NOTE', payload: { i } })).wal_offset)
  await watch.until((e) => e.wal_offset === before[before.length - 1])

  // writes keep coming while the node goes away: the watcher's next events come from the other node
  let writing = true
  const during: number[] = []
  const load = (async () => {
    // eslint-disable-next-line no-unmodified-loop-condition -- the test sets writing to false while this loop awaits
    for (let i = 0; writing; i++) {
      during.push((await writer.applyEvent({ instance_id: 'w-' + a.id, event: 'NOTE', payload: { during: i } })).wal_offset)
    }
  })()
  t.equal(await moving.stop(), 0, 'the follower shut down cleanly')
  await until('the watcher resumed on the leader', () => sdk.server === leader.address)
  writing = false
  await load
  const after = (await writer.applyEvent({ instance_id: 'w-' + a.id, event: 'NOTE', payload: { after: true } })).wal_offset
  await watch.until((e) => e.wal_offset === after)
  t.same(watch.events.map((e) => e.wal_offset), [...before, ...during, after], 'no gap, no duplicate across the move')

  // the node comes back from the stream alone and catches up
  await moving.restart()
  await allApplied(cluster.nodes, after)
  t.match(await client(moving).getInstance({ instance_id: 'w-' + a.id, min_offset: after }), { last_wal_offset: after })
  t.match(moving.logs().find((l) => l.message === 'storage recovered'), { source: 'jetstream', snapshot: null }, 'its startup report names its source')
})

t.test('a read that asks for an offset no node has reached waits, then says replica_behind', async (t) => {
  const quick = await cluster.add('quick', { RSTMDB_CLUSTER_READ_WAIT_MS: '200' })
  const sdk = await clientOf(t, quick.address)
  const head = (await sdk.info()).wal_offset
  const err = await sdk.getInstance({ instance_id: 'rest-1', min_offset: head + 1000 }).then(() => null, (e: unknown) => e)
  t.ok(err instanceof RcpError)
  t.match(err, { code: 'WAL_IO_ERROR', retryable: true, details: { reason: 'replica_behind', min_offset: head + 1000 } })
  const res = await fetch(`${quick.url}/v1/machines`, { headers: { 'x-min-wal-offset': String(head + 1000) } })
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '1')
  t.match(await res.json(), { code: 'WAL_IO_ERROR', retryable: true, details: { reason: 'replica_behind' } })
  t.ok(Number(res.headers.get('x-wal-offset')) >= head, 'the answer still says how far this node is')
  await quick.stop()
})
