import t from 'tap'
import type { RcpError } from '../../protocol/errors.js'
import { createEngine } from '../../src/engine/index.js'
import type { Engine, SnapshotLine } from '../../src/engine/types.js'
import { ORDER } from '../support/machines.js'
import { harness, workload } from './helpers.js'

function state (engine: Engine): unknown {
  const lines = [...engine.snapshotLines()]
  const reads: unknown[] = [engine.stats(), engine.read('LIST_MACHINES', {})]
  for (const state of [undefined, 'pending', 'paid', 'closed', 'open', 'cancelled']) {
    reads.push(engine.read('LIST_INSTANCES', { limit: 1000, ...(state ? { state } : {}) }))
  }
  return JSON.parse(JSON.stringify({ lines, reads }))
}

t.test('replaying the emitted entries with the same sequences reproduces the state', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const h = harness()
    workload(h, seed, 600)
    const fresh = createEngine({ now: () => h.clock.now })
    for (const { entry, sequence } of h.log) fresh.apply(JSON.parse(JSON.stringify(entry)), sequence)
    t.same(state(fresh), state(h.engine), `seed ${seed}: ${h.log.length} entries`)
  }
})

t.test('indexes built in bulk after replay equal indexes kept in step record by record', async (t) => {
  for (const seed of [11, 12, 13]) {
    const h = harness()
    workload(h, seed, 800)
    const bulk = createEngine({ now: () => h.clock.now })
    const stepped = createEngine({ now: () => h.clock.now })
    // a read before the first record makes `stepped` build its (empty) indexes and keep them in step from then on
    t.same(stepped.stats(), { machines: 0, instances: 0, tombstones: 0, idempotency: 0 })
    for (const { entry, sequence } of h.log) {
      bulk.apply(JSON.parse(JSON.stringify(entry)), sequence)
      stepped.apply(JSON.parse(JSON.stringify(entry)), sequence)
    }
    const reads = (engine: Engine): unknown[] => [state(engine), ...['order', 'ticket'].flatMap((machine) =>
      [undefined, 'pending', 'paid', 'open', 'closed'].map((st) => engine.read('LIST_INSTANCES', { machine, limit: 1000, ...(st ? { state: st } : {}) })))]
    t.same(reads(bulk), reads(stepped), `seed ${seed}: ${h.log.length} entries`)
  }
})

t.test('snapshotLines + restore reproduces the state, and the restored engine decides alike', async (t) => {
  for (const seed of [11, 12, 13]) {
    const h = harness()
    workload(h, seed, 500)
    const lines = [...h.engine.snapshotLines()].map((l) => JSON.parse(JSON.stringify(l)) as SnapshotLine)
    const restored = createEngine({ now: () => h.clock.now })
    for (const line of lines) restored.restore(line)
    t.same(state(restored), state(h.engine), `seed ${seed}`)
    // the same request decides the same way against both
    for (const id of ['id-1', 'id-2', 'id-3']) {
      for (const key of ['k1', 'k2']) {
        const params = { instance_id: id, event: 'CANCEL', idempotency_key: key }
        const outcome = (e: Engine) => {
          try {
            const d = e.decide('APPLY_EVENT', params)
            return { entries: d.entries.length, result: d.entries.length === 0 ? d.finish([]) : null }
          } catch (err) {
            return (err as RcpError).toJSON()
          }
        }
        t.same(outcome(restored), outcome(h.engine), `${id} ${key}`)
      }
    }
  }
})

t.test('snapshotLines is a frozen view: later writes do not change it', async (t) => {
  const h = harness()
  workload(h, 21, 200)
  const view = h.engine.snapshotLines()
  const expected = JSON.stringify([...h.engine.snapshotLines()])
  workload(h, 22, 200)
  t.equal(JSON.stringify([...view]), expected)
  const lines = [...h.engine.snapshotLines()]
  const order = lines.map((l) => l.t)
  t.same(order, [...order].sort((a, b) => ['machine', 'instance', 'idem'].indexOf(a) - ['machine', 'instance', 'idem'].indexOf(b)), 'machines, then instances, then idem')
  const ids = lines.flatMap((l) => (l.t === 'instance' ? [l.id] : []))
  t.same(ids, [...ids].sort(), 'instances sorted by id')
  t.ok(lines.some((l) => l.t === 'instance' && l.deleted), 'tombstones included')
  const seqs = lines.flatMap((l) => (l.t === 'idem' ? [l.sequence] : []))
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'idem sorted by sequence')
})

t.test('decide never changes state', async (t) => {
  const h = harness()
  workload(h, 31, 300)
  const before = JSON.stringify(state(h.engine))
  for (const params of [
    { instance_id: 'id-1', event: 'CANCEL' },
    { instance_id: 'id-2', event: 'PAY', payload: { amount: 1 } },
  ]) {
    try {
      h.engine.decide('APPLY_EVENT', params)
    } catch {}
  }
  h.engine.decide('BATCH', { mode: 'atomic', ops: [{ op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'fresh' } }] })
  h.engine.decide('PUT_MACHINE', { machine: 'new', version: 1, definition: ORDER })
  t.equal(JSON.stringify(state(h.engine)), before)
})
