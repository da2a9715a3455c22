import t from 'tap'
import { withOrder } from './helpers.js'

t.test('replays return the stored result, write nothing and skip every other check', async (t) => {
  const h = withOrder()
  const c = h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { amount: 1 }, idempotency_key: 'c' })
  t.same(h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { amount: 1 }, idempotency_key: 'c' }), { ...c, replayed: true }, 'the same request replays')
  t.match(h.fail('CREATE_INSTANCE', { machine: 'nope', version: 9, instance_id: 'o-1', idempotency_key: 'c' }),
    { code: 'CONFLICT', details: { reason: 'idempotency_key_reused', idempotency_key: 'c' } }, 'another request with the key is refused')
  const a = h.write('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', payload: { x: 1 }, event_id: 'e', idempotency_key: 'a' })
  h.write('APPLY_EVENT', { instance_id: 'o-1', event: 'CANCEL' })
  const replay = h.write('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', payload: { x: 1 }, event_id: 'e', idempotency_key: 'a' })
  t.same(replay, { result: { ...a.result, applied: false }, walOffset: a.walOffset, replayed: true })
  t.equal(replay.result.ctx, h.log[2].entry.type === 'apply_event' ? h.log[2].entry.ctx : undefined, 'shares the immutable ctx object')
  const d = h.write('DELETE_INSTANCE', { instance_id: 'o-1', idempotency_key: 'd' })
  t.same(h.write('DELETE_INSTANCE', { instance_id: 'o-1', idempotency_key: 'd' }), { ...d, replayed: true })
  t.same(h.write('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', payload: { x: 1 }, event_id: 'e', idempotency_key: 'a' }).result.applied, false, 'replays outlive the instance')
  t.equal(h.log.length, 5)
  t.equal(h.engine.stats().idempotency, 3)
})

t.test('scopes: per instance, per machine for generated ids, per op', async (t) => {
  const h = withOrder()
  const g = h.write('CREATE_INSTANCE', { machine: 'order', version: 1, idempotency_key: 'k' })
  t.same(h.write('CREATE_INSTANCE', { machine: 'order', version: 1, idempotency_key: 'k' }), { ...g, replayed: true }, 'machine scope')
  const own = h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', idempotency_key: 'k' })
  t.equal(own.result.instance_id, 'o-1', 'instance scope differs from machine scope')
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-2', initial_ctx: { amount: 1 } })
  t.equal(h.write('APPLY_EVENT', { instance_id: 'o-2', event: 'PAY', idempotency_key: 'k' }).result.applied, true, 'same key, other op')
  t.equal(h.write('DELETE_INSTANCE', { instance_id: 'o-2', idempotency_key: 'k' }).result.deleted, true)
  t.equal(h.log.length, 6)
})

t.test('a failed op records nothing', async (t) => {
  const h = withOrder()
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { amount: 0 } })
  t.equal(h.fail('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', idempotency_key: 'k' }).code, 'GUARD_FAILED')
  h.write('APPLY_EVENT', { instance_id: 'o-1', event: 'CANCEL', payload: { amount: 1 } })
  t.equal(h.fail('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', idempotency_key: 'k' }).code, 'INVALID_TRANSITION', 'the retry runs again')
})

t.test('TTL: expired keys run the op again', async (t) => {
  const h = withOrder({ idempotencyTtlSecs: 60 })
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { amount: 1 } })
  const start = h.clock.now
  const first = h.write('APPLY_EVENT', { instance_id: 'o-1', event: 'CANCEL', idempotency_key: 'k' })
  h.clock.now = start + 59_999
  t.same(h.write('APPLY_EVENT', { instance_id: 'o-1', event: 'CANCEL', idempotency_key: 'k' }).result.applied, false)
  h.clock.now = start + 60_000
  const err = h.fail('APPLY_EVENT', { instance_id: 'o-1', event: 'CANCEL', idempotency_key: 'k' })
  t.equal(err.code, 'INVALID_TRANSITION', 'expired: the op runs again')
  t.equal(first.result.applied, true)
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-2', idempotency_key: 'k2' })
  t.equal(h.engine.stats().idempotency, 1, 'expired records are pruned when the next key is recorded')
  t.same([...h.engine.snapshotLines()].flatMap((l) => l.t === 'idem' ? [l.key] : []), ['k2'], 'and are gone from snapshots')
})

t.test('max keys: oldest dropped first, warning at most once per minute', async (t) => {
  const h = withOrder({ idempotencyMaxKeys: 3 })
  for (let i = 0; i < 5; i++) h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `o-${i}`, idempotency_key: 'k' })
  t.equal(h.engine.stats().idempotency, 3)
  t.equal(h.warnings.length, 1)
  t.match(h.warnings[0].fields, { max_keys: 3 })
  t.match(h.fail('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-0', idempotency_key: 'k' }), { code: 'INSTANCE_EXISTS' }, 'the oldest key was dropped')
  t.equal(h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-4', idempotency_key: 'k' }).result.wal_offset, 6, 'the newest is kept')
  h.clock.now += 59_000
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-5', idempotency_key: 'k' })
  t.equal(h.warnings.length, 1)
  h.clock.now += 1_000
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-6', idempotency_key: 'k' })
  t.equal(h.warnings.length, 2)
  const idem = [...h.engine.snapshotLines()].filter((l) => l.t === 'idem')
  t.same(idem.map((l) => l.t === 'idem' && l.scope), ['o-4', 'o-5', 'o-6'], 'sorted by sequence')
})
