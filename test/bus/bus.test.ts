import t from 'tap'
import type { ApplyEventEntry, WalEntry } from '../../protocol/entries.js'
import { createBus, type CommittedLog, type CommittedRecord, type Sink } from '../../src/bus/index.js'

/** The bus against an in-memory log: commits, reads, pins and compaction are the test's to drive. */

interface FakeLog extends CommittedLog {
  /** appends and commits entries, notifying listeners like a group commit */
  commit: (...entries: WalEntry[]) => number[]
  /** appends without committing (a write whose fsync is pending) */
  appendOnly: (entry: WalEntry) => number
  /** drops records below `sequence`, as compaction does */
  compactBelow: (sequence: number) => void
  pins: () => number[]
  /** reads fail from now on */
  breakReads: () => void
}

function fakeLog (): FakeLog {
  let records: CommittedRecord[] = []
  let appended = 0
  let committed = 0
  let earliest = 1
  let broken = false
  const listeners = new Set<(records: CommittedRecord[]) => void>()
  const pins = new Set<{ sequence: number }>()
  return {
    onCommit (listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async read (from, limit) {
      if (broken) throw new Error('read failed')
      return { records: records.filter(r => r.sequence >= from && r.sequence <= committed).slice(0, limit) }
    },
    pin (sequence) {
      const pin = { sequence }
      pins.add(pin)
      return { advance: (s) => { pin.sequence = s }, release: () => { pins.delete(pin) } }
    },
    earliestOffset: () => earliest,
    appendedHead: () => appended,
    committedHead: () => committed,
    commit (...entries) {
      const fresh = entries.map(entry => ({ sequence: ++appended, entry }))
      records.push(...fresh)
      committed = appended
      for (const listener of listeners) listener(fresh)
      return fresh.map(r => r.sequence)
    },
    appendOnly (entry) {
      records.push({ sequence: ++appended, entry })
      return appended
    },
    compactBelow (sequence) {
      records = records.filter(r => r.sequence >= sequence)
      earliest = sequence
    },
    pins: () => [...pins].map(p => p.sequence),
    breakReads () { broken = true },
  }
}

const event = (instance: string, ev = 'GO', machine = 'm'): ApplyEventEntry => ({
  type: 'apply_event', instance_id: instance, machine, version: 1, event: ev, from_state: 'a', to_state: 'b', payload: { n: 1 }, ctx: { n: 1 }, ts: 1,
})

interface RecordingSink extends Sink {
  messages: Array<Record<string, any>>
  /** makes send() report a full buffer until `open` */
  block: () => void
  open: () => void
}

function recordingSink (): RecordingSink {
  const messages: Array<Record<string, any>> = []
  let full = false
  let waiting: Array<() => void> = []
  return {
    messages,
    send (text) {
      messages.push(JSON.parse(text))
      return !full
    },
    onDrain (callback) { waiting.push(callback) },
    block () { full = true },
    open () {
      full = false
      const callbacks = waiting
      waiting = []
      for (const callback of callbacks) callback()
    },
  }
}

const offsets = (sink: RecordingSink): number[] => sink.messages.filter(m => m.type === 'event').map(m => m.wal_offset)
const settle = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

function setup (queueLimit = 100): { log: FakeLog, bus: ReturnType<typeof createBus> } {
  const log = fakeLog()
  const bus = createBus({
    log,
    getInstance: id => id === 'gone'
      ? { machine: 'm', version: 1, state: 'a', last_wal_offset: 1, deleted: true }
      : { machine: 'm', version: 1, state: 'a', last_wal_offset: 0, deleted: false },
    queueLimit,
  })
  return { log, bus }
}

t.test('live delivery starts after the appended head and follows commits in order', async t => {
  const { log, bus } = setup()
  log.commit(event('i-1'))
  const pending = log.appendOnly(event('i-1'))
  const sink = recordingSink()
  const watched = bus.attach(sink).watch('WATCH_ALL', {})
  t.equal(watched.result.wal_offset, 1, 'the result reports the committed head')
  watched.start()
  log.commit(event('i-2'), event('i-3'))
  t.same(offsets(sink), [pending + 1, pending + 2], 'nothing at or below the last appended offset at subscribe time')
  t.same(bus.stats(), { instanceSubscriptions: 0, allSubscriptions: 1, eventsForwarded: 2 })
})

t.test('filters: AND across lists, OR within one; WATCH_INSTANCE sees only its instance', async t => {
  const { log, bus } = setup()
  const all = recordingSink()
  const one = recordingSink()
  bus.attach(all).watch('WATCH_ALL', { machines: ['m', 'x'], events: ['PAY'] }).start()
  bus.attach(one).watch('WATCH_INSTANCE', { instance_id: 'i-2' }).start()
  log.commit(event('i-1', 'PAY'), event('i-2', 'SHIP'), event('i-3', 'PAY', 'other'), event('i-2', 'PAY'))
  t.same(offsets(all), [1, 4])
  t.same(offsets(one), [2, 4])
})

t.test('from_offset replays committed history, then goes live with no gap and no duplicate', async t => {
  const { log, bus } = setup()
  for (let i = 0; i < 600; i++) log.commit(event(`i-${i % 7}`))
  const sink = recordingSink()
  const watched = bus.attach(sink).watch('WATCH_ALL', { from_offset: 10 })
  watched.start()
  // commits while catch-up is still reading
  log.commit(event('late-1'))
  for (let i = 0; i < 50 && offsets(sink).length < 592; i++) await settle()
  log.commit(event('late-2'))
  const expected = Array.from({ length: 593 }, (_, i) => i + 10)
  t.same(offsets(sink), expected)
})

t.test('catch-up is paced by the sink and holds a pin on what it has not read', async t => {
  const { log, bus } = setup()
  for (let i = 0; i < 1000; i++) log.commit(event('i-1'))
  const sink = recordingSink()
  sink.block()
  const owner = bus.attach(sink)
  const watched = owner.watch('WATCH_ALL', { from_offset: 1 })
  t.same(log.pins(), [1], 'pinned before it starts')
  watched.start()
  for (let i = 0; i < 10; i++) await settle()
  t.equal(offsets(sink).length, 1, 'one event handed over, then it waits for drain')
  t.ok(log.pins()[0] <= 257, 'reading stopped after one batch')
  sink.open()
  for (let i = 0; i < 50 && offsets(sink).length < 1000; i++) await settle()
  t.equal(offsets(sink).length, 1000)
  t.same(log.pins(), [], 'released once live')
  owner.close()
})

t.test('a full live queue overflows: queued events are delivered, then the end notice with the resume offset', async t => {
  const { log, bus } = setup(3)
  const sink = recordingSink()
  bus.attach(sink).watch('WATCH_ALL', {}).start()
  sink.block()
  log.commit(event('i-1'))
  for (let i = 0; i < 6; i++) log.commit(event('i-1'))
  t.same(offsets(sink), [1], 'the first was handed over before the buffer filled')
  sink.open()
  t.same(offsets(sink), [1, 2, 3, 4])
  const end = sink.messages[sink.messages.length - 1]
  t.match(end, { type: 'subscription_end', reason: 'overflow', last_wal_offset: 4, resume_from_offset: 5 })
  t.equal(bus.stats().allSubscriptions, 0, 'removed')
})

t.test('shutdown ends every subscription with the notice once its queue drained', async t => {
  const { log, bus } = setup()
  const sink = recordingSink()
  const owner = bus.attach(sink)
  owner.watch('WATCH_ALL', {}).start()
  owner.watch('WATCH_INSTANCE', { instance_id: 'i-9' }).start()
  log.commit(event('i-1'), event('i-2'))
  await owner.shutdown()
  const ends = sink.messages.filter(m => m.type === 'subscription_end')
  t.equal(ends.length, 2)
  t.match(ends[0], { reason: 'shutdown', last_wal_offset: 2, resume_from_offset: 3 })
  t.match(ends[1], { reason: 'shutdown', last_wal_offset: 0, resume_from_offset: 3 })
  t.equal(owner.size, 0)
})

t.test('unwatch and close drop subscriptions without a notice', async t => {
  const { log, bus } = setup()
  const sink = recordingSink()
  const owner = bus.attach(sink)
  const a = owner.watch('WATCH_ALL', {})
  a.start()
  t.same(owner.unwatch({ subscription_id: a.result.subscription_id }).result, { subscription_id: a.result.subscription_id, removed: true })
  t.same(owner.unwatch({ subscription_id: a.result.subscription_id }).result.removed, false)
  owner.watch('WATCH_ALL', {}).start()
  owner.close()
  log.commit(event('i-1'))
  t.same(sink.messages, [])
})

t.test('subscribe errors: compacted from_offset, unknown or deleted instance, bad params', async t => {
  const { log, bus } = setup()
  for (let i = 0; i < 10; i++) log.commit(event('i-1'))
  log.compactBelow(6)
  const owner = bus.attach(recordingSink())
  t.throws(() => owner.watch('WATCH_ALL', { from_offset: 3 }), { code: 'NOT_FOUND', details: { reason: 'offset_compacted', from_offset: 3, earliest_offset: 6 } })
  t.throws(() => owner.watch('WATCH_INSTANCE', { instance_id: 'gone' }), { code: 'INSTANCE_NOT_FOUND' })
  t.throws(() => owner.watch('WATCH_ALL', { machines: 'm' }), { code: 'BAD_REQUEST', details: { field: 'machines' } })
  t.equal(owner.size, 0)
})

t.test('a failed catch-up read ends the subscription with where to resume, never a silent skip', async t => {
  const { log, bus } = setup()
  for (let i = 0; i < 5; i++) log.commit(event('i-1'))
  log.breakReads()
  const sink = recordingSink()
  bus.attach(sink).watch('WATCH_ALL', { from_offset: 2 }).start()
  for (let i = 0; i < 10 && sink.messages.length === 0; i++) await settle()
  t.match(sink.messages, [{ type: 'subscription_end', reason: 'shutdown', resume_from_offset: 2 }])
})
