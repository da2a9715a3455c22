import t from 'tap'
import { allAt, call, electedLeader, leadersOf, natsFor, nodesFor, ORDER, snapshotText, startNode, until } from './helpers.js'
import type { TestNode } from './helpers.js'

/**
 * Three NATS servers (R3) and three in-process nodes on real sockets (cluster.md §1–§4):
 * one leader, writes on every node, the same state and the same commit offsets everywhere.
 */
t.test('three nodes: one leader, writes on every node, same offsets and state on all', async (t) => {
  const nats = await natsFor(t, 3)
  const nodes = nodesFor(t)
  for (let i = 0; i < 3; i++) nodes.push(await startNode(nats.urls, `node-${i}`))

  const leader = await electedLeader(nodes)
  const followers = nodes.filter((n) => n !== leader)
  t.equal(leadersOf(nodes).length, 1, 'exactly one leader')
  await until('every node knows the leader', () => nodes.every((n) => n.node.status().leader?.node_id === leader.id))
  t.ok(followers.every((n) => n.node.status().role === 'follower'), 'the others follow')
  t.ok(nodes.every((n) => n.node.isReady()), 'all ready')

  await call(followers[0], 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  // a write on each node; each answers after it has applied its own write
  const writes = await Promise.all(nodes.map(async (n, i) => {
    const out = await call(n, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `via-${n.id}`, initial_ctx: { amount: i + 1 } })
    const read = await call(n, 'GET_INSTANCE', { instance_id: `via-${n.id}` })
    t.equal(read.result.last_wal_offset, out.walOffset, `${n.id} reads its own write back at once`)
    return out
  }))
  for (const w of writes) t.equal(w.result.wal_offset, w.walOffset)

  // every write is readable on every node at its offset
  for (const [i, w] of writes.entries()) {
    for (const n of nodes) {
      const got = await call(n, 'GET_INSTANCE', { instance_id: `via-${nodes[i].id}`, min_offset: w.walOffset })
      t.match(got.result, { state: 'pending', ctx: { amount: i + 1 }, last_wal_offset: w.walOffset }, `${n.id} has ${nodes[i].id}'s write`)
    }
  }

  // concurrent writers on all nodes
  const more = await Promise.all(nodes.flatMap((n) => Array.from({ length: 30 }, (_, k) =>
    call(n, 'APPLY_EVENT', { instance_id: `via-${nodes[k % 3].id}`, event: 'NOTE', payload: { by: n.id, k } }))))
  const head = Math.max(...more.map((m) => m.walOffset))
  await allAt(nodes, head)

  const walReads = await Promise.all(nodes.map(async (n) => (await call(n, 'WAL_READ', { from_offset: 1, limit: 1000 })).result))
  t.same(walReads[1], walReads[0], 'WAL_READ is the same on every node')
  t.same(walReads[2], walReads[0])
  t.equal((walReads[0].records as unknown[]).length, head, 'term entry and every write, nothing else')
  t.match((walReads[0].records as Array<{ entry: { type: string } }>)[0].entry, { type: 'checkpoint', node_id: leader.id }, 'the term entry opens the log')

  // commit notices: the same gapless offsets on every node, from where all were listening
  const from = Math.max(...nodes.map((n) => n.commits[0] ?? Infinity))
  const seen = nodes.map((n) => n.commits.filter((s) => s >= from && s <= head))
  t.same(seen[1], seen[0], 'node-1 saw the same offsets as node-0')
  t.same(seen[2], seen[0], 'node-2 saw the same offsets as node-0')
  t.same(seen[0], Array.from({ length: head - from + 1 }, (_, i) => from + i), 'gapless')

  t.equal(snapshotText(nodes[1]), snapshotText(nodes[0]), 'identical state at equal offsets')
  t.equal(snapshotText(nodes[2]), snapshotText(nodes[0]))
})

t.test('a leader that shuts down hands over: another node leads and takes writes', async (t) => {
  const nats = await natsFor(t, 3)
  const nodes = nodesFor(t)
  for (let i = 0; i < 3; i++) nodes.push(await startNode(nats.urls, `node-${i}`))
  const first = await electedLeader(nodes)
  const before = await call(first, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })

  await first.node.close()
  const rest = nodes.filter((n) => n !== first)
  const second = await electedLeader(rest)
  t.not(second.id, first.id, 'a new leader')
  t.ok(second.node.status().term > first.node.status().term, 'with a higher term')
  const follower = rest.find((n) => n !== second) as TestNode
  const after = await call(follower, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'after' })
  t.ok(after.walOffset > before.walOffset)
  await allAt(rest, after.walOffset)
  t.equal(snapshotText(rest[0]), snapshotText(rest[1]))
  t.ok(first.logs.some((l) => l.message === 'no longer the leader' && l.fields.reason === 'this node is shutting down'), 'the old leader stepped down on close')
})
