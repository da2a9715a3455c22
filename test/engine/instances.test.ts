import t from 'tap'
import { fingerprintOf } from '../../src/engine/idempotency.js'
import { withOrder } from './helpers.js'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('CREATE_INSTANCE: result, entry, generated ids, errors', async (t) => {
  const h = withOrder()
  h.clock.now = 1000
  const r = h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { customer: 'alice' } })
  t.same(r, { result: { instance_id: 'o-1', state: 'pending', wal_offset: 2 }, walOffset: 2 })
  t.same(h.log[1].entry, { type: 'create_instance', instance_id: 'o-1', machine: 'order', version: 1, initial_state: 'pending', initial_ctx: { customer: 'alice' }, ts: 1000 })
  const gen = h.write('CREATE_INSTANCE', { machine: 'order', version: 1, initial_ctx: null })
  t.match(gen.result.instance_id, UUID_V4)
  t.same(h.log[2].entry, { type: 'create_instance', instance_id: gen.result.instance_id, machine: 'order', version: 1, initial_state: 'pending', initial_ctx: {}, instance_id_generated: true, ts: 1000 })

  const exists = h.fail('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1' })
  t.equal(exists.code, 'INSTANCE_EXISTS')
  t.same(exists.details, { instance_id: 'o-1', deleted: false })
  h.write('DELETE_INSTANCE', { instance_id: 'o-1' })
  t.same(h.fail('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1' }).details, { instance_id: 'o-1', deleted: true }, 'deleted ids stay used')
  const noMachine = h.fail('CREATE_INSTANCE', { machine: 'order', version: 2, instance_id: 'o-2' })
  t.equal(noMachine.code, 'MACHINE_NOT_FOUND')
  t.same(noMachine.details, { machine: 'order', version: 2 })
  t.equal(h.fail('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'x', initial_ctx: [1] as unknown as object }).details.field, 'initial_ctx')
  t.equal(h.log.length, 4)
})

t.test('GET_INSTANCE', async (t) => {
  const h = withOrder()
  h.clock.now = 10
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { amount: 1 } })
  t.same(h.read('GET_INSTANCE', { instance_id: 'o-1' }), {
    instance_id: 'o-1', machine: 'order', version: 1, state: 'pending', ctx: { amount: 1 }, last_wal_offset: 2, created_at: 10, updated_at: 10,
  }, 'last_event_id left out when null')
  h.clock.now = 20
  h.write('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', event_id: 'evt-1' })
  t.same(h.read('GET_INSTANCE', { instance_id: 'o-1' }), {
    instance_id: 'o-1', machine: 'order', version: 1, state: 'paid', ctx: { amount: 1 }, last_event_id: 'evt-1', last_wal_offset: 3, created_at: 10, updated_at: 20,
  })
  const missing = h.failRead('GET_INSTANCE', { instance_id: 'nope' })
  t.equal(missing.code, 'INSTANCE_NOT_FOUND')
  t.equal(missing.message, 'instance not found: nope')
  t.same(missing.details, { instance_id: 'nope' })
  h.write('DELETE_INSTANCE', { instance_id: 'o-1' })
  t.equal(h.failRead('GET_INSTANCE', { instance_id: 'o-1' }).code, 'INSTANCE_NOT_FOUND', 'tombstones are hidden')
  t.equal(h.engine.getInstance('o-1')?.deleted, true, 'getInstance returns the tombstone record')
})

t.test('APPLY_EVENT: step table of §6.12', async (t) => {
  const h = withOrder()
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { customer: 'alice', amount: 0, keep: 1 } })
  const missing = h.fail('APPLY_EVENT', { instance_id: 'nope', event: 'PAY' })
  t.same([missing.code, missing.details], ['INSTANCE_NOT_FOUND', { instance_id: 'nope' }])
  const state = h.fail('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', expected_state: 'paid' })
  t.same([state.code, state.details], ['CONFLICT', { instance_id: 'o-1', expected_state: 'paid', actual_state: 'pending' }])
  const offset = h.fail('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', expected_wal_offset: 1 })
  t.same([offset.code, offset.details], ['CONFLICT', { instance_id: 'o-1', expected_offset: 1, actual_offset: 2 }])
  const invalid = h.fail('APPLY_EVENT', { instance_id: 'o-1', event: 'SHIP' })
  t.same([invalid.code, invalid.details], ['INVALID_TRANSITION', { instance_id: 'o-1', current_state: 'pending', event: 'SHIP' }])
  const guard = h.fail('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', payload: { amount: 5 } })
  t.same([guard.code, guard.details], ['GUARD_FAILED', { instance_id: 'o-1', current_state: 'pending', event: 'PAY', guards: ['ctx.amount > 0'] }])
  t.equal(h.fail('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', payload: [] as unknown as object }).details.field, 'payload')
  t.equal(h.log.length, 2, 'failures write nothing')

  h.write('APPLY_EVENT', { instance_id: 'o-1', event: 'CANCEL', payload: null })
  t.equal(h.read('GET_INSTANCE', { instance_id: 'o-1' }).state, 'cancelled')

  const h2 = withOrder()
  h2.clock.now = 77
  h2.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { customer: 'alice', amount: 5, keep: 1 } })
  const ok = h2.write('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', payload: { amount: 99.99, keep: null, extra: [1] }, expected_state: 'pending', expected_wal_offset: 2, event_id: 'evt-1', idempotency_key: 'k' })
  t.same(ok, { result: { from_state: 'pending', to_state: 'paid', ctx: { customer: 'alice', amount: 99.99, keep: null, extra: [1] }, wal_offset: 3, applied: true, event_id: 'evt-1' }, walOffset: 3 })
  t.same(h2.log[2].entry, {
    type: 'apply_event',
    instance_id: 'o-1',
    machine: 'order',
    version: 1,
    event: 'PAY',
    from_state: 'pending',
    to_state: 'paid',
    payload: { amount: 99.99, keep: null, extra: [1] },
    ctx: { customer: 'alice', amount: 99.99, keep: null, extra: [1] },
    event_id: 'evt-1',
    idempotency_key: 'k',
    idempotency_fingerprint: fingerprintOf('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', payload: { amount: 99.99, keep: null, extra: [1] }, expected_state: 'pending', expected_wal_offset: 2, event_id: 'evt-1' }),
    ts: 77,
  })
  const next = h2.write('APPLY_EVENT', { instance_id: 'o-1', event: 'CANCEL' })
  t.notOk('event_id' in next.result, 'event_id left out when not given')
  t.equal(h2.engine.getInstance('o-1')?.last_event_id, null, 'last_event_id reset to null')
  const deleted = h2.write('DELETE_INSTANCE', { instance_id: 'o-1' })
  t.equal(deleted.result.wal_offset, 5)
  t.equal(h2.fail('APPLY_EVENT', { instance_id: 'o-1', event: 'CANCEL' }).code, 'INSTANCE_NOT_FOUND', 'tombstones cannot move')
})

t.test('a transition to the same state is a normal transition', async (t) => {
  const h = withOrder()
  h.write('PUT_MACHINE', { machine: 'loop', version: 1, definition: { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'TICK', to: 'a' }] } })
  h.write('CREATE_INSTANCE', { machine: 'loop', version: 1, instance_id: 'l' })
  const r = h.write('APPLY_EVENT', { instance_id: 'l', event: 'TICK', payload: { n: 1 } })
  t.same(r.result, { from_state: 'a', to_state: 'a', ctx: { n: 1 }, wal_offset: 4, applied: true })
})

t.test('records are immutable values replaced on write', async (t) => {
  const h = withOrder()
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { amount: 1 } })
  const before = h.engine.getInstance('o-1')
  t.ok(Object.isFrozen(before))
  h.write('APPLY_EVENT', { instance_id: 'o-1', event: 'PAY', payload: { amount: 2 } })
  t.same(before?.ctx, { amount: 1 })
  t.equal(before?.state, 'pending')
  t.not(h.engine.getInstance('o-1'), before)
})

t.test('DELETE_INSTANCE', async (t) => {
  const h = withOrder()
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1' })
  const missing = h.fail('DELETE_INSTANCE', { instance_id: 'nope' })
  t.same([missing.code, missing.details], ['INSTANCE_NOT_FOUND', { instance_id: 'nope' }])
  h.clock.now = 5
  const del = h.write('DELETE_INSTANCE', { instance_id: 'o-1' })
  t.same(del, { result: { instance_id: 'o-1', deleted: true, wal_offset: 3 }, walOffset: 3 })
  t.same(h.log[2].entry, { type: 'delete_instance', instance_id: 'o-1', ts: 5 })
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-2' })
  const again = h.write('DELETE_INSTANCE', { instance_id: 'o-1' })
  t.same(again, { result: { instance_id: 'o-1', deleted: true, wal_offset: 3 }, walOffset: 3 }, 'the original offset, nothing written')
  t.equal(h.log.length, 4)
  t.same(h.engine.stats(), { machines: 1, instances: 1, tombstones: 1, idempotency: 0 })
})

t.test('unknown ops are BAD_REQUEST', async (t) => {
  const h = withOrder()
  t.same(h.fail('NOPE' as 'BATCH', {}).details, { op: 'NOPE' })
  t.same(h.failRead('NOPE' as 'GET_MACHINE').details, { op: 'NOPE' })
})

t.test('replay anomalies warn and are skipped', async (t) => {
  const h = withOrder()
  h.engine.apply({ type: 'apply_event', instance_id: 'ghost', machine: 'order', version: 1, event: 'PAY', from_state: 'pending', to_state: 'paid', payload: null, ctx: {}, ts: 1 }, 10)
  h.engine.apply({ type: 'delete_instance', instance_id: 'ghost', ts: 1 }, 11)
  h.engine.apply({ type: 'snapshot', instance_id: 'x', snapshot_id: 's', state: 'a', ctx: {} }, 12)
  h.engine.apply({ type: 'checkpoint', timestamp: 1 }, 13)
  t.equal(h.warnings.length, 2)
  t.same(h.engine.stats(), { machines: 1, instances: 0, tombstones: 0, idempotency: 0 })
})

t.test('apply_event entries without machine/version are looked up from the instance', async (t) => {
  const h = withOrder()
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1' })
  const entry = { type: 'apply_event', instance_id: 'o-1', event: 'CANCEL', from_state: 'pending', to_state: 'cancelled', payload: null, ctx: { a: 1 } }
  h.engine.apply(entry as never, 3)
  t.match(h.read('GET_INSTANCE', { instance_id: 'o-1' }), { machine: 'order', version: 1, state: 'cancelled', ctx: { a: 1 }, last_wal_offset: 3 })
  t.same(h.read('LIST_INSTANCES', { state: 'cancelled' }).total, 1)
})
