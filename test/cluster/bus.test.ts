import t from 'tap'
import type { Sink } from '../../src/bus/index.js'
import { allAt, call, natsFor, nodesFor, ORDER, roles, startNode, until } from './helpers.js'
import type { TestNode } from './helpers.js'

/**
 * Each node's subscription bus, fed by its log (cluster.md §4): watchers on every node see
 * the same offsets, live and when catching up from an offset; a watcher that moves to
 * another node resumes there without a gap or a duplicate.
 */

interface Watcher {
  /** offsets of the events received */
  offsets: number[]
}

function watchAll (n: TestNode, fromOffset?: number): Watcher {
  const watcher: Watcher = { offsets: [] }
  const sink: Sink = {
    send (text) {
      const message = JSON.parse(text) as { type: string, wal_offset?: number }
      if (message.type === 'event') watcher.offsets.push(message.wal_offset as number)
      return true
    },
    onDrain () {},
  }
  const outcome = n.node.attach(sink).watch('WATCH_ALL', fromOffset === undefined ? {} : { from_offset: fromOffset })
  outcome.start()
  return watcher
}

t.test('watchers on all nodes see the same events at the same offsets, live and from an offset', async (t) => {
  const nats = await natsFor(t, 3)
  const nodes = nodesFor(t)
  for (const id of ['a', 'b', 'c']) nodes.push(await startNode(nats.urls, id))
  const { leader, followers } = await roles(nodes)
  await call(leader, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  for (const n of nodes) await call(n, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `i-${n.id}` })
  const live = nodes.map((n) => watchAll(n))

  // concurrent writers on every node
  const writes = await Promise.all(nodes.flatMap((n) => Array.from({ length: 40 }, (_, k) =>
    call(n, 'APPLY_EVENT', { instance_id: `i-${nodes[k % 3].id}`, event: 'NOTE', payload: { k } }))))
  const head = Math.max(...writes.map((w) => w.walOffset))
  await allAt(nodes, head)
  const expected = writes.map((w) => w.walOffset).sort((a, b) => a - b)
  for (const [i, w] of live.entries()) t.same(w.offsets, expected, `${nodes[i].id}: every event once, in offset order`)

  // a watcher that saw part of it moves to another node and resumes there
  const cut = expected[50]
  const moved = watchAll(followers[1], cut + 1)
  const replay = watchAll(followers[0], 1)
  await allAt(nodes, head)
  const more = await call(followers[1], 'APPLY_EVENT', { instance_id: 'i-a', event: 'NOTE', payload: { k: 'after' } })
  const done = (w: Watcher): boolean => w.offsets.at(-1) === more.walOffset
  await until('both watchers reach the last write', () => done(moved) && done(replay))
  t.same([...live[0].offsets.filter((o) => o <= cut), ...moved.offsets], [...expected, more.walOffset], 'no gap, no duplicate across the move')
  t.same(replay.offsets, [...expected, more.walOffset], 'catch-up from offset 1 on a follower, then live')
})
