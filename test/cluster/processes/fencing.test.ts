import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { ORDER } from '../../support/machines.js'
import {
  allApplied, clientOf, clusterInfo, E2E_LEASE_MS, keyedLoad, leaderOf, startCluster, stateAt, until, type NodeProcess,
} from '../../support/cluster.js'

/**
 * SIGSTOP of the leader process past its lease, then SIGCONT (cluster.md §3, §8): another
 * node takes over; the old leader, resumed, decides nothing more (its lease lapsed while it
 * was stopped), steps down and converges. No acknowledged write is lost, and no two nodes
 * ever say they lead at the same time.
 */

t.test('a leader stopped past its lease is fenced when it resumes, steps down and converges; never two leaders', async (t) => {
  const cluster = await startCluster(t)
  const all = cluster.nodes
  const setup = await clientOf(t, all[0].address)
  await setup.putMachine({ machine: 'order', version: 1, definition: ORDER })
  const instances = ['x-0', 'x-1', 'x-2', 'x-3']
  for (const id of instances) await setup.createInstance({ machine: 'order', version: 1, instance_id: id })
  const old = await leaderOf(all)
  const oldTerm = (await clusterInfo(old))?.term ?? 0

  // who says it leads, asked of every node round after round (a stopped node does not answer)
  let sampling = true
  let rounds = 0
  const overlaps: string[][] = []
  const sampler = (async () => {
    // eslint-disable-next-line no-unmodified-loop-condition -- the test sets sampling to false while this loop awaits
    while (sampling) {
      const infos = await Promise.all(all.map(async (n) => await clusterInfo(n, 250)))
      const leading = infos.filter((i) => i?.role === 'leader').map((i) => `${String(i?.node_id)}@${String(i?.term)}`)
      if (leading.length > 1) overlaps.push(leading)
      rounds++
      await sleep(10)
    }
  })()

  // two writers talk to the leader only, two to the followers
  const followers = all.filter((n) => n !== old)
  const writers = await Promise.all([old, old, ...followers].map(async (n) => await clientOf(t, n.address)))
  const load = keyedLoad(writers, instances)
  await load.more(200)

  old.pause()
  let next: NodeProcess | null = null
  await until('another node leads', async () => {
    for (const n of followers) if ((await clusterInfo(n))?.role === 'leader') next = n
    return next !== null
  })
  // well past the old leader's lease: it would have lost it even had it renewed just before it stopped
  await sleep(E2E_LEASE_MS)
  const during = load.acked.size
  await until('writes go on without the old leader', () => load.acked.size >= during + 50)
  old.resume()

  await until('the old leader steps down', async () => (await clusterInfo(old))?.role === 'follower' && old.logs().some((l) => l.message === 'no longer the leader'))
  t.match(old.logs().find((l) => l.message === 'no longer the leader'), { reason: /lease/ }, 'it stopped deciding because its lease lapsed')
  await load.more(100)
  await load.stop()
  sampling = false
  await sampler

  const info = await clusterInfo(old)
  t.ok((info?.term ?? 0) > oldTerm, 'the old leader is in the new term')
  t.same(overlaps, [], `never two nodes leading at once (${rounds} rounds of INFO)`)
  t.comment(`retryable failures: ${JSON.stringify(Object.fromEntries(load.failures))}`)

  const clients = await Promise.all(all.map(async (n) => await clientOf(t, n.address)))
  const head = (await clients[all.indexOf(next as unknown as NodeProcess)].info()).wal_offset
  await allApplied(all, head)
  const states = await Promise.all(clients.map(async (c) => await stateAt(c, head)))
  t.equal(states[all.indexOf(old)], states[all.indexOf(next as unknown as NodeProcess)], 'the old leader has the state of the new one')
  t.equal(states[1], states[0])
  t.equal(states[2], states[0])
  const keys = new Map<number, string | undefined>()
  for (const r of JSON.parse(states[0]).log as Array<{ sequence: number, entry: { idempotency_key?: string } }>) keys.set(r.sequence, r.entry.idempotency_key)
  const lost = [...load.acked].filter(([key, offset]) => keys.get(offset) !== key)
  t.same(lost, [], `all ${load.acked.size} acknowledged writes are in the log at their offsets`)
})
