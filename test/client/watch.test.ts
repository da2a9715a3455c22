import t from 'tap'
import { RcpError, type Client, type WatchEvent } from 'rstmdb'
import { encodeMessage } from '../../protocol/codec.js'
import { clientFor, collect, loose } from '../support/client.js'
import { ok, startFakeServer } from '../support/fake-server.js'
import { startProxy } from '../support/proxy.js'
import { startServer } from '../support/server.js'

// Watches as async iterators (README "SDK"): events in order, break unsubscribes, first
// events kept, errors, and the two ways a watch falls behind (slow consumer, server overflow).

/** a → b → a …: every TICK is a valid transition */
const LOOP = { states: ['a', 'b'], initial: 'a', transitions: [{ from: 'a', event: 'TICK', to: 'b' }, { from: 'b', event: 'TICK', to: 'a' }] }

const server = await startServer(t, { env: { RSTMDB_FSYNC_POLICY: 'never' } })
const writer = await clientFor(t, server)
await writer.putMachine({ machine: 'loop', version: 1, definition: LOOP })
for (const id of ['a', 'b', 'slow', 'big']) await writer.createInstance({ machine: 'loop', version: 1, instance_id: id })

/** n TICKs on one instance, `depth` in flight; their offsets in order */
async function tick (c: Client, instanceId: string, n: number, depth = 8, payload: () => Record<string, unknown> = () => ({})): Promise<number[]> {
  const offsets: number[] = []
  let next = 0
  await Promise.all(Array.from({ length: depth }, async () => {
    while (next < n) {
      next++
      offsets.push((await c.applyEvent({ instance_id: instanceId, event: 'TICK', payload: payload() })).wal_offset)
    }
  }))
  return offsets.sort((x, y) => x - y)
}

t.test('for await over watchAll and watchInstance; break sends UNWATCH', async t => {
  const sent: Array<Record<string, unknown>> = []
  const c = await clientFor(t, server, { trace: (direction, message) => { if (direction === 'sent') sent.push(message) } })
  const one = c.watchInstance({ instance_id: 'a', include_ctx: false })
  const all = c.watchAll({ machines: ['loop'] })
  const subscribed = await one.subscribed
  t.match(subscribed, { subscription_id: /^sub-/, instance_id: 'a', current_state: String })
  t.equal(one.subscriptionId, subscribed.subscription_id)
  await all.subscribed
  const written = [...await tick(writer, 'a', 3), ...await tick(writer, 'b', 3)]

  const fromOne: WatchEvent[] = []
  for await (const event of one) {
    fromOne.push(event)
    if (fromOne.length === 3) break
  }
  t.same(fromOne.map(e => e.wal_offset), written.slice(0, 3))
  t.match(fromOne[0], { type: 'event', subscription_id: subscribed.subscription_id, instance_id: 'a', machine: 'loop', version: 1, event: 'TICK', payload: {} })
  t.notOk('ctx' in fromOne[0], 'include_ctx false')
  t.match(sent.at(-1), { op: 'UNWATCH', params: { subscription_id: subscribed.subscription_id } }, 'break unsubscribed')
  t.same(await loose(c).request('UNWATCH', { subscription_id: subscribed.subscription_id }), { subscription_id: subscribed.subscription_id, removed: false }, 'the server no longer has it')
  t.same(await one.next(), { value: undefined, done: true }, 'a stopped watch stays done')

  const fromAll: WatchEvent[] = []
  for await (const event of all) {
    fromAll.push(event)
    if (fromAll.length === 6) break
  }
  t.same(fromAll.map(e => e.wal_offset), written)
  t.ok(fromAll.every(e => typeof e.ctx === 'object'), 'ctx included by default')
})

t.test('the first events are kept: a replay right behind the subscribe response, and events in its very chunk', async t => {
  const c = await clientFor(t, server)
  const head = (await c.walStats()).latest_offset as number
  const records = (await c.walRead({ from_offset: 1, limit: 1000 })).records
  const applies = records.filter(r => r.entry.type === 'apply_event').map(r => r.sequence)
  const replay = collect(c.watchAll({ from_offset: 1 }))
  await replay.until(e => e.wal_offset === head)
  t.same(replay.events.map(e => e.wal_offset), applies.filter(o => o <= head), 'every event from offset 1, none missed')

  // a server that writes the subscribe response and three events in one write
  const event = (n: number): Record<string, unknown> => ({ type: 'event', subscription_id: 'sub-1', instance_id: 'x', machine: 'm', version: 1, wal_offset: n, from_state: 'a', to_state: 'b', event: 'E', payload: null })
  const address = await startFakeServer(t, req => req.op === 'HELLO'
    ? [ok(req, { protocol_version: 1, wire_mode: 'binary_json' })]
    : [Buffer.concat([ok(req, { subscription_id: 'sub-1', wal_offset: 10 }), event(11), event(12), event(13)].map(m => encodeMessage(m, 'binary')))])
  const fake = await clientFor(t, { address })
  const burst = collect(fake.watchAll())
  await burst.until(e => e.wal_offset === 13)
  t.same(burst.events.map(e => e.wal_offset), [11, 12, 13])
})

t.test('a refused subscribe rejects `subscribed` and the iterator with the RcpError', async t => {
  const c = await clientFor(t, server)
  const watch = c.watchInstance({ instance_id: 'ghost' })
  const err = await watch.subscribed.catch((e: unknown) => e)
  t.ok(err instanceof RcpError)
  t.match(err, { code: 'INSTANCE_NOT_FOUND', details: { instance_id: 'ghost' } })
  await t.rejects(watch.next(), { code: 'INSTANCE_NOT_FOUND' })
  t.same(await watch.next(), { value: undefined, done: true })
})

t.test('a slow consumer: past watchQueueLimit the watch unsubscribes, then resumes where it stopped', async t => {
  const sent: Array<Record<string, unknown>> = []
  const c = await clientFor(t, server, { watchQueueLimit: 10, trace: (direction, message) => { if (direction === 'sent') sent.push(message) } })
  const watch = c.watchInstance({ instance_id: 'slow', include_ctx: false })
  await watch.subscribed
  const written = await tick(writer, 'slow', 200)
  // nothing consumed yet: the watch holds 10 events and has let the subscription go
  const got: number[] = []
  for await (const event of watch) {
    got.push(event.wal_offset)
    if (event.wal_offset === written[written.length - 1]) break
  }
  t.same(got, written, 'every event once, in order')
  const watches = sent.filter(m => m.op === 'WATCH_INSTANCE')
  t.ok(watches.length >= 2, `subscribed ${watches.length} times`)
  t.match(watches[1], { params: { instance_id: 'slow', from_offset: written[10] } }, 'resumed right after the last event it held')
  t.ok(sent.some(m => m.op === 'UNWATCH'), 'let the subscription go while the consumer was behind')
})

t.test('an overflow notice from the server: the watch resumes from resume_from_offset, nothing lost or repeated', async t => {
  const tight = await startServer(t, { env: { RSTMDB_SUBSCRIPTION_QUEUE_LIMIT: '3', RSTMDB_FSYNC_POLICY: 'never' } })
  const w = await clientFor(t, tight)
  await w.putMachine({ machine: 'loop', version: 1, definition: LOOP })
  await w.createInstance({ machine: 'loop', version: 1, instance_id: 'big' })
  const proxy = await startProxy(t, tight.rcpPort)
  const received: Array<Record<string, unknown>> = []
  const c = await clientFor(t, proxy, { trace: (direction, message) => { if (direction === 'received') received.push(message) } })
  const events = collect(c.watchAll({ include_ctx: false }))
  await c.ping()
  // the server's writes back up behind the proxy until its queue for the watch overflows
  proxy.hold()
  const blob = 'x'.repeat(32 * 1024)
  const written = await tick(w, 'big', 200, 8, () => ({ blob }))
  proxy.release()
  await events.until(e => e.wal_offset === written[written.length - 1])
  const notice = received.find(m => m.type === 'subscription_end')
  t.match(notice, { reason: 'overflow' }, 'the server overflowed the subscription')
  t.same(events.events.map(e => e.wal_offset), written, 'and the watch still has every event once, in order')
})
