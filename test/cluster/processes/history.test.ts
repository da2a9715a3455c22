import t from 'tap'
import type { Client } from 'rstmdb'
import { collect } from '../../support/client.js'
import { ORDER } from '../../support/machines.js'
import { connectRaw } from '../../support/raw-client.js'
import { openSse } from '../../support/sse.js'
import { allApplied, clientOf, leaderOf, startCluster } from '../../support/cluster.js'
import type { NodeProcess } from '../../support/cluster.js'

/**
 * The history extensions on every node of a cluster of real processes (history.md over
 * cluster.md §4): GET_HISTORY and `at_offset` on a follower answer exactly as on the leader
 * over RCP and REST, GET_TRANSITIONS too, a dry run on a follower answers as on the leader and
 * writes nothing, and a follower's SSE stream and lifecycle watches carry the same events as the
 * leader's. One cluster for the file: no test here kills a process.
 */

const cluster = await startCluster(t)
const leader = await leaderOf(cluster.nodes)
const followers = cluster.nodes.filter((n) => n !== leader)
const [follower] = followers
const clients = new Map<NodeProcess, Client>()
for (const n of cluster.nodes) clients.set(n, await clientOf(t, n.address))
const client = (n: NodeProcess): Client => clients.get(n) as Client
await client(follower).putMachine({ machine: 'order', version: 1, definition: ORDER })

/** GET over a node's gateway: status and body, as plain JSON. */
async function rest (n: NodeProcess, path: string, headers: Record<string, string> = {}): Promise<{ status: number, body: unknown }> {
  const res = await fetch(`${n.url}${path}`, { headers })
  return { status: res.status, body: await res.json() }
}

/** An RCP call's result, or its error, as plain JSON. */
async function rcp (request: Promise<unknown>): Promise<unknown> {
  return await request.then((result) => ({ result }), (err: { code: string, message: string, details?: unknown }) => ({ error: { code: err.code, message: err.message, details: err.details } }))
}

t.test('every node lists history in HELLO and INFO', async (t) => {
  for (const n of cluster.nodes) {
    t.ok((await client(n).info()).features.includes('history'), `${n.id}: INFO over RCP`)
    const raw = await connectRaw(Number(n.address.split(':')[1]), { hello: false })
    t.teardown(() => raw.close())
    const hello = await raw.request('HELLO', { protocol_version: 1, wire_modes: ['binary_json'], features: ['history', 'dry_run', 'transitions', 'lifecycle_events'] })
    t.same(hello.result.features, ['history', 'transitions', 'dry_run', 'lifecycle_events'], `${n.id}: HELLO`)
    t.ok(((await rest(n, '/v1/info')).body as { features: string[] }).features.includes('history'), `${n.id}: /v1/info`)
  }
})

t.test('GET_HISTORY and at_offset: a follower answers exactly as the leader, over RCP and REST', async (t) => {
  const offsets = [(await client(followers[1]).createInstance({ machine: 'order', version: 1, instance_id: 'h-1', initial_ctx: { amount: 2 } })).wal_offset]
  await client(leader).createInstance({ machine: 'order', version: 1, instance_id: 'h-other' })
  for (let i = 0; i < 12; i++) {
    offsets.push((await client(cluster.nodes[i % 3]).applyEvent({ instance_id: 'h-1', event: 'NOTE', payload: { i } })).wal_offset)
    await client(cluster.nodes[(i + 1) % 3]).applyEvent({ instance_id: 'h-other', event: 'NOTE', payload: { i } })
  }
  offsets.push((await client(follower).applyEvent({ instance_id: 'h-1', event: 'PAY', event_id: 'pay-1' })).wal_offset)
  offsets.push((await client(follower).deleteInstance({ instance_id: 'h-1' })).wal_offset)
  const head = offsets[offsets.length - 1]
  await allApplied(cluster.nodes, head)

  const min = String(head)
  const queries = [
    { instance_id: 'h-1', limit: 4 },
    { instance_id: 'h-1', limit: 4, from_offset: offsets[4] },
    { instance_id: 'h-1', limit: 3, reverse: true },
    { instance_id: 'h-1', limit: 3, reverse: true, from_offset: offsets[7] },
    { instance_id: 'h-1', from_offset: head + 100 },
    { instance_id: 'nobody' },
  ]
  const answers = async (n: NodeProcess): Promise<unknown[]> => {
    const out: unknown[] = []
    for (const q of queries) {
      out.push(await rcp(client(n).getHistory({ ...q, min_offset: head })))
      const query = new URLSearchParams(Object.entries(q).filter(([k]) => k !== 'instance_id').map(([k, v]): [string, string] => [k, String(v)]))
      out.push(await rest(n, `/v1/instances/${q.instance_id}/history?${query.toString()}`, { 'x-min-wal-offset': min }))
    }
    for (let at = offsets[0] - 1; at <= head; at++) {
      out.push(await rcp(client(n).getInstance({ instance_id: 'h-1', at_offset: at, min_offset: head })))
      out.push(await rest(n, `/v1/instances/h-1?at_offset=${at}`, { 'x-min-wal-offset': min }))
    }
    return out
  }
  const expected = await answers(leader)
  t.match(expected[0], { result: { items: offsets.slice(0, 4).map((o) => ({ wal_offset: o })), next_offset: offsets[4], earliest_offset: offsets[0], complete: true } })
  t.match(expected[1], { status: 200, body: { items: offsets.slice(0, 4).map((o) => ({ wal_offset: o })) } })
  t.match(expected[4], { result: { items: offsets.slice(-3).reverse().map((o) => ({ wal_offset: o })) } })
  t.match(expected[8], { error: { code: 'BAD_REQUEST', details: { reason: 'above_head' } } })
  t.match(expected[11], { status: 404, body: { code: 'INSTANCE_NOT_FOUND' } })
  t.match(expected[12], { error: { code: 'INSTANCE_NOT_FOUND' } }, 'before its creation')
  t.match(expected[14], { result: { state: 'pending', ctx: { amount: 2 }, last_wal_offset: offsets[0] } })
  for (const n of followers) t.same(await answers(n), expected, `${n.id} answers every query as the leader`)
})

t.test('GET_TRANSITIONS on a follower, over RCP and REST', async (t) => {
  const { wal_offset: offset } = await client(leader).createInstance({ machine: 'order', version: 1, instance_id: 'tr-1', initial_ctx: { amount: 0 } })
  await allApplied(cluster.nodes, offset)
  const expected = await client(leader).getTransitions({ instance_id: 'tr-1' })
  t.match(expected, { instance_id: 'tr-1', state: 'pending', wal_offset: offset, transitions: [{ event: 'PAY', to: 'paid', guard_passes: false }, { event: 'CANCEL', taken: true }] })
  for (const n of followers) {
    t.same(await client(n).getTransitions({ instance_id: 'tr-1' }), expected, `${n.id}: RCP`)
    t.same(await rest(n, '/v1/instances/tr-1/transitions'), { status: 200, body: expected }, `${n.id}: REST`)
    t.match(await rcp(client(n).getTransitions({ instance_id: 'nobody' })), { error: { code: 'INSTANCE_NOT_FOUND' } })
  }
})

t.test('a dry run on a follower answers as on the leader and writes nothing', async (t) => {
  const { wal_offset: offset } = await client(leader).createInstance({ machine: 'order', version: 1, instance_id: 'dry-1', initial_ctx: { amount: 5 } })
  await allApplied(cluster.nodes, offset)
  const before = await client(leader).info()
  const stream = before.cluster?.stream_last_offset
  const tries = [
    { instance_id: 'dry-1', event: 'PAY', payload: { note: 'x' }, dry_run: true },
    { instance_id: 'dry-1', event: 'SHIP', dry_run: true },
    { instance_id: 'dry-1', event: 'PAY', idempotency_key: 'dry-key', dry_run: true },
  ]
  const expected = await Promise.all(tries.map(async (p) => await rcp(client(leader).applyEvent(p))))
  t.match(expected[0], { result: { applied: true, dry_run: true, from_state: 'pending', to_state: 'paid', ctx: { amount: 5, note: 'x' }, wal_offset: offset + 1 } })
  t.match(expected[1], { error: { code: 'INVALID_TRANSITION' } })
  for (const n of followers) {
    t.same(await Promise.all(tries.map(async (p) => await rcp(client(n).applyEvent(p)))), expected, `${n.id}: RCP`)
    const res = await fetch(`${n.url}/v1/instances/dry-1/events?dry_run=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event: 'PAY', payload: { note: 'x' } }) })
    t.equal(res.status, 200)
    t.same(await res.json(), (expected[0] as { result: unknown }).result, `${n.id}: REST ?dry_run=true`)
  }
  const after = await client(leader).info()
  t.equal(after.cluster?.stream_last_offset, stream, 'the stream holds nothing more')
  t.equal(after.wal_offset, before.wal_offset, 'the head did not move')
  for (const n of cluster.nodes) {
    t.match(await client(n).getInstance({ instance_id: 'dry-1' }), { state: 'pending', ctx: { amount: 5 }, last_wal_offset: offset }, `${n.id}: the instance is unchanged`)
    t.equal((await client(n).walStats()).latest_offset, before.wal_offset, `${n.id}: WAL_STATS latest_offset unchanged`)
  }
  // the key was not stored: the real call under it is a first write, not a replay
  const real = await client(follower).applyEvent({ instance_id: 'dry-1', event: 'PAY', idempotency_key: 'dry-key' })
  t.match(real, { applied: true, wal_offset: (stream ?? 0) + 1 })
})

t.test('SSE and lifecycle watches on a follower carry what the leader\'s carry', async (t) => {
  const watchers = cluster.nodes.map((n) => collect(client(n).watchAll({ include_lifecycle: true, include_ctx: false })))
  const streams = await Promise.all(cluster.nodes.map(async (n) => await openSse(`${n.url}/v1/events?lifecycle=true&include_ctx=false`)))
  t.teardown(() => { for (const s of streams) s.close() })
  for (const s of streams) t.equal(s.status, 200)
  await Promise.all(cluster.nodes.map(async (n) => await client(n).ping()))
  const created = await client(followers[1]).createInstance({ machine: 'order', version: 1, instance_id: 'sse-1', initial_ctx: { amount: 1 } })
  const paid = await client(follower).applyEvent({ instance_id: 'sse-1', event: 'PAY' })
  const deleted = await client(leader).deleteInstance({ instance_id: 'sse-1' })
  const expected = [
    { kind: 'created', instance_id: 'sse-1', wal_offset: created.wal_offset, to_state: 'pending' },
    { instance_id: 'sse-1', event: 'PAY', wal_offset: paid.wal_offset, from_state: 'pending', to_state: 'paid' },
    { kind: 'deleted', instance_id: 'sse-1', wal_offset: deleted.wal_offset, from_state: 'paid' },
  ]
  const seen: unknown[][] = []
  for (const [i, n] of cluster.nodes.entries()) {
    await streams[i].waitFor((e) => e.wal_offset === deleted.wal_offset, 30_000)
    // each stream is a subscription of its own; everything else is the same on every node
    const events = streams[i].events().filter((e) => e.instance_id === 'sse-1').map(({ subscription_id: _, ...e }) => e)
    t.match(events, expected, `${n.id}: SSE`)
    t.same(streams[i].messages.filter((m) => m.data.includes('"sse-1"')).map((m) => m.lastEventId), expected.map((e) => String(e.wal_offset)), `${n.id}: SSE ids are the offsets`)
    await watchers[i].until((e) => e.wal_offset === deleted.wal_offset)
    t.match(watchers[i].events.filter((e) => e.instance_id === 'sse-1'), expected, `${n.id}: RCP watch with include_lifecycle`)
    seen.push(events)
  }
  t.same(seen[1], seen[0], 'the same events, field for field')
  t.same(seen[2], seen[0])
})
