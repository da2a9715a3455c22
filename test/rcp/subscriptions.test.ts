import t from 'tap'
import type { Client, OpInput, Watch, WatchOp } from 'rstmdb'
import { clientFor, collect, rejected, type Collected } from '../support/client.js'
import { rawClientFor, type RawClient } from '../support/raw-client.js'
import { startServer, type RunningServer } from '../support/server.js'
import { resultOf, within } from './helpers.js'

/** a → b → a …: every TICK is a valid transition, so writers never fail */
const LOOP = {
  states: ['a', 'b'],
  initial: 'a',
  transitions: [{ from: 'a', event: 'TICK', to: 'b' }, { from: 'b', event: 'TICK', to: 'a' }, { from: ['a', 'b'], event: 'TOCK', to: 'a' }],
}

/** n APPLY_EVENTs on one instance with `depth` requests in flight; resolves with their offsets */
async function applyMany (c: Client, instanceId: string, n: number, depth = 8, payload: () => Record<string, unknown> = () => ({})): Promise<number[]> {
  const offsets: number[] = []
  let next = 0
  async function lane (): Promise<void> {
    while (next < n) {
      next++
      const r = await c.applyEvent({ instance_id: instanceId, event: 'TICK', payload: payload() })
      offsets.push(r.wal_offset)
    }
  }
  await Promise.all(Array.from({ length: depth }, lane))
  return offsets.sort((a, b) => a - b)
}

/** offsets of every committed apply_event record from `from` on, straight from WAL_READ */
async function walApplyOffsets (c: Client, from = 1, filter: (entry: any) => boolean = () => true): Promise<number[]> {
  const out: number[] = []
  let cursor: number | null = from
  for (let guard = 0; cursor !== null && guard < 10_000; guard++) {
    const r = await c.walRead({ from_offset: cursor, limit: 1000 })
    for (const rec of r.records) if (rec.entry.type === 'apply_event' && filter(rec.entry)) out.push(rec.sequence)
    cursor = r.next_offset
  }
  return out
}

const offsetsOf = (c: RawClient, sid: string): number[] => c.events(sid).map(e => e.wal_offset)
const offsetsIn = (c: Collected): number[] => c.events.map(e => e.wal_offset)

/** A watch whose events are read in the background from the moment it is subscribed. */
async function watching (watch: Watch<WatchOp>): Promise<{ result: any, events: Collected }> {
  const result = await watch.subscribed
  return { result, events: collect(watch) }
}

async function setup (t: any, server: RunningServer, instances: string[]): Promise<Client> {
  const w = await clientFor(t, server)
  await w.putMachine({ machine: 'loop', version: 1, definition: LOOP })
  for (const id of instances) await w.createInstance({ machine: 'loop', version: 1, instance_id: id })
  return w
}

t.test('filters: AND across lists, OR within a list; include_ctx; WATCH_INSTANCE', async t => {
  const server = await startServer(t)
  const w = await setup(t, server, [])
  await w.putMachine({ machine: 'other', version: 1, definition: LOOP })
  await w.createInstance({ machine: 'loop', version: 1, instance_id: 'l1' })
  await w.createInstance({ machine: 'other', version: 1, instance_id: 'o1', initial_ctx: { k: 1 } })
  const s = await clientFor(t, server, { wireMode: 'jsonl' })
  const filters: Record<string, OpInput<'WATCH_ALL'>> = {
    all: {},
    loopOnly: { machines: ['loop'] },
    bothTock: { machines: ['loop', 'other'], events: ['TOCK'] },
    aToB: { from_states: ['a'], to_states: ['b'] },
    intoA: { to_states: ['a', 'zzz'] },
    none: { machines: ['loop'], events: ['NOPE'] },
    noCtx: { machines: ['other'], include_ctx: false },
  }
  const subs: Record<string, Collected> = {}
  const sids: Record<string, string> = {}
  for (const [name, f] of Object.entries(filters)) {
    const sub = await watching(s.watchAll(f))
    subs[name] = sub.events
    sids[name] = sub.result.subscription_id
  }
  const inst = (await watching(s.watchInstance({ instance_id: 'o1' }))).events

  const plan: Array<[string, string, unknown]> = [
    ['l1', 'TICK', { x: 1 }], ['o1', 'TICK', null], ['l1', 'TOCK', { y: 2 }], ['o1', 'TOCK', {}], ['l1', 'TICK', { z: 3 }], ['o1', 'TICK', { k: 2 }],
  ]
  const applied: any[] = []
  for (const [id, event, payload] of plan) {
    const r = await w.applyEvent({ instance_id: id, event, ...(payload === null ? {} : { payload: payload as Record<string, unknown> }) })
    applied.push({ id, event, payload, machine: id === 'l1' ? 'loop' : 'other', ...r })
  }
  const last = applied[applied.length - 1].wal_offset
  await subs.all.until(e => e.wal_offset === last)
  // subscribed last, so its event for the last write comes after everyone else's
  await inst.until(e => e.wal_offset === last)
  const expect = (pred: (a: any) => boolean): number[] => applied.filter(pred).map(a => a.wal_offset)
  t.same(offsetsIn(subs.all), expect(() => true), 'no filter: everything')
  t.same(offsetsIn(subs.loopOnly), expect(a => a.machine === 'loop'))
  t.same(offsetsIn(subs.bothTock), expect(a => a.event === 'TOCK'))
  t.same(offsetsIn(subs.aToB), expect(a => a.from_state === 'a' && a.to_state === 'b'))
  t.same(offsetsIn(subs.intoA), expect(a => a.to_state === 'a'))
  t.same(offsetsIn(subs.none), [])
  t.same(offsetsIn(inst), expect(a => a.id === 'o1'))

  const first = subs.all.events[0]
  const [record] = (await w.walRead({ from_offset: applied[0].wal_offset, limit: 1 })).records
  t.same(first, {
    type: 'event',
    subscription_id: sids.all,
    instance_id: 'l1',
    machine: 'loop',
    version: 1,
    wal_offset: applied[0].wal_offset,
    from_state: 'a',
    to_state: 'b',
    event: 'TICK',
    payload: { x: 1 },
    ctx: { x: 1 },
    at: new Date(Number((record.entry as Record<string, unknown>).ts)).toISOString(),
  }, 'the RCP event shape, with `at`: the time of its WAL entry')
  const noCtx = subs.noCtx.events
  t.equal(noCtx.length, 3)
  t.ok(noCtx.every(e => !('ctx' in e)), 'include_ctx false leaves ctx out')
  t.equal(noCtx[0].payload, null, 'payload is null when the request had none')
  t.same(inst.events[2].ctx, { k: 2 })
})

t.test('replay then live while other connections write: no gap, no duplicate, increasing offsets', async t => {
  const server = await startServer(t, { env: { RSTMDB_FSYNC_POLICY: 'never' } })
  const writers = ['w1', 'w2', 'w3']
  const w = await setup(t, server, writers)
  const prewritten = await applyMany(w, 'w1', 300, 16)
  const midOffset = prewritten[150]
  const conns = await Promise.all(writers.map(async () => await clientFor(t, server)))
  const s = await clientFor(t, server)
  const early = await watching(s.watchAll({}))
  const writing = Promise.all(writers.map(async (id, i) => await applyMany(conns[i], id, 300, 2)))
  // subscribed while the writers run, pipelined
  const [fromStart, fromMid, w2Only, live] = await Promise.all([
    watching(s.watchAll({ from_offset: 1 })),
    watching(s.watchAll({ from_offset: midOffset, include_ctx: false })),
    watching(s.watchInstance({ instance_id: 'w2', from_offset: 0 })),
    watching(s.watchAll({})),
  ])
  await writing
  const head = (await w.walStats()).latest_offset as number
  for (const sub of [early, fromStart, fromMid, live]) {
    await sub.events.until(e => e.wal_offset === head, 20_000)
  }
  const all = await walApplyOffsets(w)
  t.equal(all.length, 1200)
  t.same(offsetsIn(fromStart.events), all, 'from_offset 1: every event exactly once, in order')
  t.same(offsetsIn(fromMid.events), all.filter(o => o >= midOffset))
  t.same(offsetsIn(early.events), all.filter(o => o > early.result.wal_offset), 'subscribed before the writers: all of their events')
  // live starts above the last appended offset at subscribe time, which may be past the committed head it reports
  const liveGot = offsetsIn(live.events)
  t.ok(liveGot.length > 0 && liveGot[0] > live.result.wal_offset)
  t.same(liveGot, all.slice(all.indexOf(liveGot[0])), 'live: every event after the subscribe, in order')
  const w2 = await walApplyOffsets(w, 1, e => e.instance_id === 'w2')
  await w2Only.events.until(e => e.wal_offset === w2[w2.length - 1])
  t.same(offsetsIn(w2Only.events), w2)
})

t.test('overflow with a tiny queue and a reader that does not read; resuming loses nothing; compaction', async t => {
  // no history retention: compaction deletes segments as soon as snapshots cover them
  const server = await startServer(t, { env: { RSTMDB_SUBSCRIPTION_QUEUE_LIMIT: '3', RSTMDB_FSYNC_POLICY: 'never', RSTMDB_WAL_SEGMENT_SIZE_MB: '1', RSTMDB_HISTORY_RETENTION_SECS: '0' } })
  const w = await setup(t, server, ['big'])
  // raw: this reader must stop reading, and the end notice's frame flags are checked
  const s = await rawClientFor(t, server)
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
  const resumed = await watching(r.watchAll({ from_offset: end.resume_from_offset, include_ctx: false }))
  await resumed.events.until(e => e.wal_offset === written[written.length - 1], 20_000)
  t.same([...delivered, ...offsetsIn(resumed.events)], written, 'resuming loses nothing and repeats nothing')
  r.destroy()

  t.test('NOT_FOUND offset_compacted once segments are gone', async t => {
    const before = await w.walStats()
    t.ok(before.segment_count > 3, `${before.segment_count} segments`)
    await w.compact({ force_snapshot: true })
    await w.applyEvent({ instance_id: 'big', event: 'TICK' })
    const second = await w.compact({ force_snapshot: true })
    t.ok(second.segments_deleted > 0, 'the second compaction deletes segments')
    const stats = await w.walStats()
    const earliest = stats.earliest_offset
    t.ok(earliest > 1)
    const c = await clientFor(t, server)
    for (const watch of [c.watchAll({ from_offset: 1 }), c.watchInstance({ instance_id: 'big', from_offset: 1 })]) {
      const error = await rejected(watch.subscribed)
      t.equal(error.code, 'NOT_FOUND')
      t.same(error.details, { reason: 'offset_compacted', from_offset: 1, earliest_offset: earliest })
    }
    const ok = await watching(c.watchAll({ from_offset: earliest, include_ctx: false }))
    await ok.events.until(e => e.wal_offset === stats.latest_offset, 20_000)
    t.same(offsetsIn(ok.events), await walApplyOffsets(w, earliest))
    t.equal((await c.walRead({ from_offset: 1, limit: 1 })).records[0].sequence, earliest, 'WAL_READ starts at the oldest retained record')
  })
})

t.test('UNWATCH: nothing for that subscription after its response; BYE drops subscriptions', async t => {
  const server = await startServer(t, { env: { RSTMDB_FSYNC_POLICY: 'never' } })
  const w = await setup(t, server, ['u'])
  // raw: what arrives after the UNWATCH response is checked message by message
  const s = await rawClientFor(t, server)
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

  const before = (await w.info()).connections
  const b = await rawClientFor(t, server)
  await b.request('WATCH_ALL', {})
  await b.request('WATCH_INSTANCE', { instance_id: 'u' })
  t.same(resultOf(await b.request('BYE')), { goodbye: true })
  t.ok(await within(b.closed, 5000))
  await applyMany(w, 'u', 10)
  t.equal(b.messages.filter(m => m.message.type === 'subscription_end').length, 0)
  t.equal((await w.info()).connections, before)
})

t.test('SIGTERM: shutdown notices with resume offsets, a reader that does not read is cut off, exit 0', async t => {
  const server = await startServer(t, { env: { RSTMDB_FSYNC_POLICY: 'never' } })
  const w = await setup(t, server, ['x', 'y'])
  // raw: the end notices themselves are checked, where the SDK would resume past them
  const s = await rawClientFor(t, server)
  const all = resultOf(await s.request('WATCH_ALL', {})).subscription_id
  const quiet = resultOf(await s.request('WATCH_ALL', { machines: ['nothing'] })).subscription_id
  const stuck = await rawClientFor(t, server)
  await stuck.request('WATCH_ALL', {})
  stuck.socket.pause()
  const written = await applyMany(w, 'x', 200, 8, () => ({ pad: 'p'.repeat(16 * 1024) }))
  await s.waitFor(m => m.type === 'event' && m.subscription_id === all && m.wal_offset === written[written.length - 1])
  const head = (await w.walStats()).latest_offset as number
  const code = server.stop('SIGTERM')
  const endAll = await s.waitFor(m => m.type === 'subscription_end' && m.subscription_id === all)
  const endQuiet = await s.waitFor(m => m.type === 'subscription_end' && m.subscription_id === quiet)
  t.match(endAll, { reason: 'shutdown', last_wal_offset: written[written.length - 1], resume_from_offset: head + 1 })
  t.match(endQuiet, { reason: 'shutdown', last_wal_offset: 0, resume_from_offset: head + 1 })
  t.ok(await within(s.closed, 10_000), 'connection closed after the notices')
  t.equal(await code, 0, 'exit 0 (the stuck reader was cut off after the grace period)')
})
