import t from 'tap'
import type { TestClient } from '../support/rcp-client.js'
import type { RunningServer } from '../support/server.js'
import { clientFor, errorOf, resultOf, serverFor, within } from './helpers.js'

/** a → b → a …: every TICK is a valid transition, so writers never fail */
const LOOP = {
  states: ['a', 'b'],
  initial: 'a',
  transitions: [{ from: 'a', event: 'TICK', to: 'b' }, { from: 'b', event: 'TICK', to: 'a' }, { from: ['a', 'b'], event: 'TOCK', to: 'a' }],
}

/** n APPLY_EVENTs on one instance with `depth` requests in flight; resolves with their offsets */
async function applyMany (c: TestClient, instanceId: string, n: number, depth = 8, payload: () => unknown = () => ({})): Promise<number[]> {
  const offsets: number[] = []
  let next = 0
  async function lane (): Promise<void> {
    while (next < n) {
      next++
      const r = await c.request('APPLY_EVENT', { instance_id: instanceId, event: 'TICK', payload: payload() })
      offsets.push(resultOf(r).wal_offset)
    }
  }
  await Promise.all(Array.from({ length: depth }, lane))
  return offsets.sort((a, b) => a - b)
}

/** offsets of every committed apply_event record from `from` on, straight from WAL_READ */
async function walApplyOffsets (c: TestClient, from = 1, filter: (entry: any) => boolean = () => true): Promise<number[]> {
  const out: number[] = []
  let cursor: number | null = from
  for (let guard = 0; cursor !== null && guard < 10_000; guard++) {
    const r: any = resultOf(await c.request('WAL_READ', { from_offset: cursor, limit: 1000 }))
    for (const rec of r.records) if (rec.entry.type === 'apply_event' && filter(rec.entry)) out.push(rec.sequence)
    cursor = r.next_offset
  }
  return out
}

const offsetsOf = (c: TestClient, sid: string): number[] => c.events(sid).map(e => e.wal_offset)

async function setup (t: any, server: RunningServer, instances: string[]): Promise<TestClient> {
  const w = await clientFor(t, server)
  await w.request('PUT_MACHINE', { machine: 'loop', version: 1, definition: LOOP })
  for (const id of instances) await w.request('CREATE_INSTANCE', { machine: 'loop', version: 1, instance_id: id })
  return w
}

t.test('filters: AND across lists, OR within a list; include_ctx; WATCH_INSTANCE', async t => {
  const server = await serverFor(t)
  const w = await setup(t, server, [])
  await w.request('PUT_MACHINE', { machine: 'other', version: 1, definition: LOOP })
  await w.request('CREATE_INSTANCE', { machine: 'loop', version: 1, instance_id: 'l1' })
  await w.request('CREATE_INSTANCE', { machine: 'other', version: 1, instance_id: 'o1', initial_ctx: { k: 1 } })
  const s = await clientFor(t, server, { mode: 'jsonl' })
  const filters: Record<string, any> = {
    all: {},
    loopOnly: { machines: ['loop'] },
    bothTock: { machines: ['loop', 'other'], events: ['TOCK'] },
    aToB: { from_states: ['a'], to_states: ['b'] },
    intoA: { to_states: ['a', 'zzz'] },
    none: { machines: ['loop'], events: ['NOPE'] },
    noCtx: { machines: ['other'], include_ctx: false },
  }
  const sids: Record<string, string> = {}
  for (const [name, f] of Object.entries(filters)) sids[name] = resultOf(await s.request('WATCH_ALL', f)).subscription_id
  const inst = resultOf(await s.request('WATCH_INSTANCE', { instance_id: 'o1' })).subscription_id

  const plan: Array<[string, string, unknown]> = [
    ['l1', 'TICK', { x: 1 }], ['o1', 'TICK', null], ['l1', 'TOCK', { y: 2 }], ['o1', 'TOCK', {}], ['l1', 'TICK', { z: 3 }], ['o1', 'TICK', { k: 2 }],
  ]
  const applied: any[] = []
  for (const [id, event, payload] of plan) {
    const r = resultOf(await w.request('APPLY_EVENT', { instance_id: id, event, ...(payload === null ? {} : { payload }) }))
    applied.push({ id, event, payload, machine: id === 'l1' ? 'loop' : 'other', ...r })
  }
  const last = applied[applied.length - 1].wal_offset
  await s.waitFor(m => m.type === 'event' && m.subscription_id === sids.all && m.wal_offset === last)
  await s.waitFor(m => m.type === 'event' && m.subscription_id === inst && m.wal_offset === last)
  const expect = (pred: (a: any) => boolean): number[] => applied.filter(pred).map(a => a.wal_offset)
  t.same(offsetsOf(s, sids.all), expect(() => true), 'no filter: everything')
  t.same(offsetsOf(s, sids.loopOnly), expect(a => a.machine === 'loop'))
  t.same(offsetsOf(s, sids.bothTock), expect(a => a.event === 'TOCK'))
  t.same(offsetsOf(s, sids.aToB), expect(a => a.from_state === 'a' && a.to_state === 'b'))
  t.same(offsetsOf(s, sids.intoA), expect(a => a.to_state === 'a'))
  t.same(offsetsOf(s, sids.none), [])
  t.same(offsetsOf(s, inst), expect(a => a.id === 'o1'))

  const first = s.events(sids.all)[0]
  t.same(first, {
    type: 'event', subscription_id: sids.all, instance_id: 'l1', machine: 'loop', version: 1, wal_offset: applied[0].wal_offset,
    from_state: 'a', to_state: 'b', event: 'TICK', payload: { x: 1 }, ctx: { x: 1 },
  })
  const noCtx = s.events(sids.noCtx)
  t.equal(noCtx.length, 3)
  t.ok(noCtx.every(e => !('ctx' in e)), 'include_ctx false leaves ctx out')
  t.equal(noCtx[0].payload, null, 'payload is null when the request had none')
  t.same(s.events(inst)[2].ctx, { k: 2 })
})

t.test('replay then live while other connections write: no gap, no duplicate, increasing offsets', async t => {
  const server = await serverFor(t, { env: { RSTMDB_FSYNC_POLICY: 'never' } })
  const writers = ['w1', 'w2', 'w3']
  const w = await setup(t, server, writers)
  const prewritten = await applyMany(w, 'w1', 300, 16)
  const midOffset = prewritten[150]
  const conns = await Promise.all(writers.map(async () => await clientFor(t, server)))
  const s = await clientFor(t, server)
  const early = resultOf(await s.request('WATCH_ALL', {}))
  const writing = Promise.all(writers.map(async (id, i) => await applyMany(conns[i], id, 300, 2)))
  // subscribed while the writers run, pipelined
  const [fromStart, fromMid, w2Only, live] = (await Promise.all([
    s.request('WATCH_ALL', { from_offset: 1 }),
    s.request('WATCH_ALL', { from_offset: midOffset, include_ctx: false }),
    s.request('WATCH_INSTANCE', { instance_id: 'w2', from_offset: 0 }),
    s.request('WATCH_ALL', {}),
  ])).map(r => resultOf(r))
  await writing
  const head = resultOf(await w.request('WAL_STATS')).latest_offset
  for (const sub of [early, fromStart, fromMid, live]) {
    await s.waitFor(m => m.type === 'event' && m.subscription_id === sub.subscription_id && m.wal_offset === head, 20_000)
  }
  const all = await walApplyOffsets(w)
  t.equal(all.length, 1200)
  t.same(offsetsOf(s, fromStart.subscription_id), all, 'from_offset 1: every event exactly once, in order')
  t.same(offsetsOf(s, fromMid.subscription_id), all.filter(o => o >= midOffset))
  t.same(offsetsOf(s, early.subscription_id), all.filter(o => o > early.wal_offset), 'subscribed before the writers: all of their events')
  // live starts above the last appended offset at subscribe time, which may be past the committed head it reports
  const liveGot = offsetsOf(s, live.subscription_id)
  t.ok(liveGot.length > 0 && liveGot[0] > live.wal_offset)
  t.same(liveGot, all.slice(all.indexOf(liveGot[0])), 'live: every event after the subscribe, in order')
  const w2 = await walApplyOffsets(w, 1, e => e.instance_id === 'w2')
  await s.waitFor(m => m.type === 'event' && m.subscription_id === w2Only.subscription_id && m.wal_offset === w2[w2.length - 1])
  t.same(offsetsOf(s, w2Only.subscription_id), w2)
})

t.test('overflow with a tiny queue and a reader that does not read; resuming loses nothing; compaction', async t => {
  const server = await serverFor(t, { env: { RSTMDB_SUBSCRIPTION_QUEUE_LIMIT: '3', RSTMDB_FSYNC_POLICY: 'never', RSTMDB_WAL_SEGMENT_SIZE_MB: '1' } })
  const w = await setup(t, server, ['big'])
  const s = await clientFor(t, server)
  const sid = resultOf(await s.request('WATCH_ALL', { include_ctx: false })).subscription_id
  s.socket.pause()
  const blob = 'x'.repeat(32 * 1024)
  // the payload goes into ctx too, so each record is ~64 KiB: ~16 per 1 MiB segment
  const written = await applyMany(w, 'big', 400, 8, () => ({ blob }))
  s.socket.resume()
  const end = await s.waitFor(m => m.type === 'subscription_end' && m.subscription_id === sid, 20_000)
  const delivered = offsetsOf(s, sid)
  t.equal(end.reason, 'overflow')
  t.ok(delivered.length < written.length, `overflowed after ${delivered.length} of ${written.length}`)
  t.same(delivered, written.slice(0, delivered.length), 'a prefix, in order, nothing skipped')
  t.equal(end.last_wal_offset, delivered[delivered.length - 1] ?? 0)
  t.equal(end.resume_from_offset, written[delivered.length], 'resume offset: the first matching event not delivered')
  const notice = s.messages.find(m => m.message === end)
  t.equal(notice?.flags, 0x000d, 'end notice frame flags CRC_PRESENT|STREAM|END_STREAM')
  t.equal(s.messages.filter(m => m.message.subscription_id === sid).pop()?.message, end, 'nothing after the notice')

  const r = await clientFor(t, server)
  const resumed = resultOf(await r.request('WATCH_ALL', { from_offset: end.resume_from_offset, include_ctx: false })).subscription_id
  await r.waitFor(m => m.type === 'event' && m.subscription_id === resumed && m.wal_offset === written[written.length - 1], 20_000)
  t.same([...delivered, ...offsetsOf(r, resumed)], written, 'resuming loses nothing and repeats nothing')
  r.close()

  t.test('NOT_FOUND offset_compacted once segments are gone', async t => {
    const before = resultOf(await w.request('WAL_STATS'))
    t.ok(before.segment_count > 3, `${before.segment_count} segments`)
    resultOf(await w.request('COMPACT', { force_snapshot: true }))
    await w.request('APPLY_EVENT', { instance_id: 'big', event: 'TICK' })
    const second = resultOf(await w.request('COMPACT', { force_snapshot: true }))
    t.ok(second.segments_deleted > 0, 'the second compaction deletes segments')
    const stats = resultOf(await w.request('WAL_STATS'))
    const earliest = stats.earliest_offset
    t.ok(earliest > 1)
    const c = await clientFor(t, server)
    for (const op of ['WATCH_ALL', 'WATCH_INSTANCE']) {
      const error = errorOf(await c.request(op, { instance_id: 'big', from_offset: 1 }))
      t.equal(error.code, 'NOT_FOUND')
      t.same(error.details, { reason: 'offset_compacted', from_offset: 1, earliest_offset: earliest })
    }
    const ok = resultOf(await c.request('WATCH_ALL', { from_offset: earliest, include_ctx: false })).subscription_id
    await c.waitFor(m => m.type === 'event' && m.subscription_id === ok && m.wal_offset === stats.latest_offset, 20_000)
    t.same(offsetsOf(c, ok), await walApplyOffsets(w, earliest))
    t.equal(resultOf(await c.request('WAL_READ', { from_offset: 1, limit: 1 })).records[0].sequence, earliest, 'WAL_READ starts at the oldest retained record')
  })
})

t.test('UNWATCH: nothing for that subscription after its response; BYE drops subscriptions', async t => {
  const server = await serverFor(t, { env: { RSTMDB_FSYNC_POLICY: 'never' } })
  const w = await setup(t, server, ['u'])
  const s = await clientFor(t, server)
  const gone = resultOf(await s.request('WATCH_ALL', {})).subscription_id
  const kept = resultOf(await s.request('WATCH_INSTANCE', { instance_id: 'u' })).subscription_id
  const writing = applyMany(w, 'u', 300, 8)
  await s.waitFor(m => m.type === 'event' && m.subscription_id === gone)
  const unwatch = await s.request('UNWATCH', { subscription_id: gone })
  t.equal(resultOf(unwatch).removed, true)
  const written = await writing
  await s.waitFor(m => m.type === 'event' && m.subscription_id === kept && m.wal_offset === written[written.length - 1])
  const at = s.messages.findIndex(m => m.message === unwatch)
  t.equal(s.messages.slice(at).filter(m => m.message.subscription_id === gone).length, 0, 'no event after the UNWATCH response')
  t.same(offsetsOf(s, kept), written, 'the other subscription is untouched')

  const before = resultOf(await w.request('INFO')).connections
  const b = await clientFor(t, server)
  await b.request('WATCH_ALL', {})
  await b.request('WATCH_INSTANCE', { instance_id: 'u' })
  t.same(resultOf(await b.request('BYE')), { goodbye: true })
  t.ok(await within(b.closed, 5000))
  await applyMany(w, 'u', 10)
  t.equal(b.messages.filter(m => m.message.type === 'subscription_end').length, 0)
  t.equal(resultOf(await w.request('INFO')).connections, before)
})

t.test('SIGTERM: shutdown notices with resume offsets, a reader that does not read is cut off, exit 0', async t => {
  const server = await serverFor(t, { env: { RSTMDB_FSYNC_POLICY: 'never' } })
  const w = await setup(t, server, ['x', 'y'])
  const s = await clientFor(t, server)
  const all = resultOf(await s.request('WATCH_ALL', {})).subscription_id
  const quiet = resultOf(await s.request('WATCH_ALL', { machines: ['nothing'] })).subscription_id
  const stuck = await clientFor(t, server)
  await stuck.request('WATCH_ALL', {})
  stuck.socket.pause()
  const written = await applyMany(w, 'x', 200, 8, () => ({ pad: 'p'.repeat(16 * 1024) }))
  await s.waitFor(m => m.type === 'event' && m.subscription_id === all && m.wal_offset === written[written.length - 1])
  const head = resultOf(await w.request('WAL_STATS')).latest_offset
  const code = server.stop('SIGTERM')
  const endAll = await s.waitFor(m => m.type === 'subscription_end' && m.subscription_id === all)
  const endQuiet = await s.waitFor(m => m.type === 'subscription_end' && m.subscription_id === quiet)
  t.match(endAll, { reason: 'shutdown', last_wal_offset: written[written.length - 1], resume_from_offset: head + 1 })
  t.match(endQuiet, { reason: 'shutdown', last_wal_offset: 0, resume_from_offset: head + 1 })
  t.ok(await within(s.closed, 10_000), 'connection closed after the notices')
  t.equal(await code, 0, 'exit 0 (the stuck reader was cut off after the grace period)')
})
