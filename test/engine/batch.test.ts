import t from 'tap'
import { withOrder } from './helpers.js'

const create = (id?: string, extra: Record<string, unknown> = {}) => ({ op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, ...(id ? { instance_id: id } : {}), ...extra } })
const apply = (id: string, event: string, extra: Record<string, unknown> = {}) => ({ op: 'APPLY_EVENT', params: { instance_id: id, event, ...extra } })
const del = (id: string, extra: Record<string, unknown> = {}) => ({ op: 'DELETE_INSTANCE', params: { instance_id: id, ...extra } })

t.test('structure check, both modes, before anything runs', async (t) => {
  const h = withOrder()
  for (const mode of ['best_effort', 'atomic']) {
    const cases: Array<[unknown, number | undefined, string]> = [
      ['nope', undefined, 'ops'],
      [Array.from({ length: 101 }, () => create()), 100, 'ops'],
      [[create('a'), { op: 'PUT_MACHINE', params: {} }], 1, 'ops[1].op'],
      [[create('a'), create('b'), { op: 'APPLY_EVENT' }], 2, 'ops[2].params'],
      [[create('a'), { op: 'APPLY_EVENT', params: null }], 1, 'ops[1].params'],
      [[create('a'), { op: 'APPLY_EVENT', params: [] }], 1, 'ops[1].params'],
      [['x'], 0, 'ops[0].op'],
    ]
    for (const [ops, index, field] of cases) {
      const err = h.fail('BATCH', { mode, ops })
      t.equal(err.code, 'BAD_REQUEST')
      t.equal(err.details.batch_index, index, `${mode} ${field}`)
      t.equal(err.details.field, field)
    }
  }
  t.equal(h.fail('BATCH', { mode: 'sometimes', ops: [] }).details.field, 'mode')
  t.same(h.write('BATCH', { ops: [] }), { result: { results: [] }, walOffset: 0 })
  t.equal(h.log.length, 1, 'nothing written')
})

t.test('best_effort: failures reported in their slot, the rest runs as separate records', async (t) => {
  const h = withOrder()
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'x', initial_ctx: { amount: 1 } })
  const r = h.write('BATCH', {
    ops: [
      create('a', { initial_ctx: { amount: 2 } }),
      apply('a', 'PAY'),
      apply('a', 'PAY'),
      apply('missing', 'PAY'),
      { op: 'APPLY_EVENT', params: { event: 'PAY' } },
      del('x'),
      del('x'),
      create(),
    ],
  })
  const results = r.result.results as Array<Record<string, unknown>>
  t.same(results[0], { status: 'ok', result: { instance_id: 'a', state: 'pending', wal_offset: 3 }, error: null })
  t.same(results[1], { status: 'ok', result: { from_state: 'pending', to_state: 'paid', ctx: { amount: 2 }, wal_offset: 4, applied: true }, error: null }, 'later ops see earlier ones')
  t.same(results[2], {
    status: 'error',
    result: null,
    error: { code: 'INVALID_TRANSITION', message: 'no transition for event PAY from state paid', retryable: false, details: { instance_id: 'a', current_state: 'paid', event: 'PAY' } },
  })
  t.same(results[3], { status: 'error', result: null, error: { code: 'INSTANCE_NOT_FOUND', message: 'instance not found: missing', retryable: false, details: { instance_id: 'missing' } } })
  t.match(results[4], { status: 'error', result: null, error: { code: 'BAD_REQUEST', retryable: false, details: { field: 'instance_id' } } }, 'sub-op params are validated')
  t.same(results[5], { status: 'ok', result: { instance_id: 'x', deleted: true, wal_offset: 5 }, error: null })
  t.same(results[6], { status: 'ok', result: { instance_id: 'x', deleted: true, wal_offset: 5 }, error: null }, 'a second delete reports the first one')
  t.match(results[7], { status: 'ok', result: { state: 'pending', wal_offset: 6 }, error: null })
  t.equal(r.walOffset, 6)
  t.same(h.log.slice(2).map((l) => [l.entry.type, l.group]), [['create_instance', false], ['apply_event', false], ['delete_instance', false], ['create_instance', false]])
  t.equal(h.read('GET_INSTANCE', { instance_id: 'a' }).state, 'paid')
})

t.test('atomic: success is one group; ids generated first', async (t) => {
  const h = withOrder()
  const r = h.write('BATCH', { mode: 'atomic', ops: [create(), create('a', { initial_ctx: { amount: 1 } }), apply('a', 'PAY'), apply('a', 'SHIP', { expected_state: 'paid' })] })
  const results = r.result.results as Array<{ status: string, result: Record<string, unknown> }>
  t.same(results.map((x) => x.status), ['ok', 'ok', 'ok', 'ok'])
  t.same(results.map((x) => x.result.wal_offset), [2, 3, 4, 5])
  t.equal(r.walOffset, 5)
  t.same(h.log.slice(1).map((l) => l.group), [true, true, true, true])
  t.match(h.log[1].entry, { type: 'create_instance', instance_id_generated: true })
  t.equal(h.read('GET_INSTANCE', { instance_id: 'a' }).state, 'shipped')
})

t.test('atomic: any failure throws the failing code and leaves state untouched', async (t) => {
  const h = withOrder()
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'x', initial_ctx: { amount: 1 } })
  const before = [...h.engine.snapshotLines()]
  const statsBefore = h.engine.stats()
  const err = h.fail('BATCH', {
    mode: 'atomic',
    ops: [create('a', { idempotency_key: 'k1' }), apply('x', 'PAY', { idempotency_key: 'k2' }), del('x'), apply('x', 'SHIP')],
  })
  t.equal(err.code, 'INSTANCE_NOT_FOUND')
  t.equal(err.retryable, false)
  t.equal(err.message, 'atomic batch failed at op 3 (APPLY_EVENT): instance not found: x')
  t.same(err.details, { instance_id: 'x', batch_index: 3, batch_op: 'APPLY_EVENT' })
  t.same([...h.engine.snapshotLines()], before, 'state untouched')
  t.same(h.engine.stats(), statsBefore)
  t.equal(h.log.length, 2)

  const bad = h.fail('BATCH', { mode: 'atomic', ops: [create('b'), { op: 'CREATE_INSTANCE', params: { machine: 'order' } }] })
  t.equal(bad.code, 'BAD_REQUEST')
  t.match(bad.details, { field: 'version', batch_index: 1, batch_op: 'CREATE_INSTANCE' })
  t.match(bad.message, /^atomic batch failed at op 1 \(CREATE_INSTANCE\): /)

  const conflict = h.fail('BATCH', { mode: 'atomic', ops: [apply('x', 'PAY'), apply('x', 'CANCEL', { expected_state: 'pending' })] })
  t.same([conflict.code, conflict.details], ['CONFLICT', { instance_id: 'x', expected_state: 'pending', actual_state: 'paid', batch_index: 1, batch_op: 'APPLY_EVENT' }])
  t.equal(h.read('GET_INSTANCE', { instance_id: 'x' }).state, 'pending')
  t.equal(h.log.length, 2)
})

t.test('idempotency inside batches', async (t) => {
  const h = withOrder()
  const first = h.write('BATCH', {
    mode: 'atomic',
    ops: [
      create('a', { initial_ctx: { amount: 1 }, idempotency_key: 'c' }),
      create('a', { initial_ctx: { amount: 1 }, idempotency_key: 'c' }),
      apply('a', 'PAY', { idempotency_key: 'p', event_id: 'e1' }),
      apply('a', 'PAY', { idempotency_key: 'p', event_id: 'e1' }),
      create(undefined, { idempotency_key: 'g' }),
      create(undefined, { idempotency_key: 'g' }),
    ],
  })
  const r = (first.result.results as Array<{ result: Record<string, unknown> }>).map((x) => x.result)
  t.same(r[1], r[0], 'a key used twice in one scope replays the first use')
  t.same(r[2], { from_state: 'pending', to_state: 'paid', ctx: { amount: 1 }, wal_offset: 3, applied: true, event_id: 'e1' })
  t.same(r[3], { ...r[2], applied: false })
  t.same(r[5], r[4])
  t.equal(h.log.length, 4, 'replays write nothing')
  const again = h.write('BATCH', { ops: [apply('a', 'PAY', { idempotency_key: 'p', event_id: 'e1' }), create('zz', { idempotency_key: 'c' })] })
  t.same(again, { result: { results: [{ status: 'ok', result: r[3], error: null }, { status: 'ok', result: { instance_id: 'zz', state: 'pending', wal_offset: 5 }, error: null }] }, walOffset: 5 })
  const replayOnly = h.write('BATCH', { mode: 'atomic', ops: [apply('a', 'PAY', { idempotency_key: 'p', event_id: 'e1' })] })
  t.equal(replayOnly.walOffset, 3, 'a batch that writes nothing reports the highest offset of its results')
  t.equal(h.log.length, 5)
  const reused = h.fail('BATCH', { mode: 'atomic', ops: [create('b', { idempotency_key: 'x' }), create('b', { initial_ctx: { amount: 2 }, idempotency_key: 'x' })] })
  t.match(reused, { code: 'CONFLICT', details: { reason: 'idempotency_key_reused', idempotency_key: 'x', batch_index: 1 } }, 'a key reused for another request inside one batch')
  const slots = h.write('BATCH', { ops: [apply('a', 'CANCEL', { idempotency_key: 'p' })] }).result.results as Array<{ status: string, error: { code: string, details: Record<string, unknown> } }>
  t.match(slots, [{ status: 'error', error: { code: 'CONFLICT', details: { reason: 'idempotency_key_reused' } } }], 'best_effort reports it in the slot')
  t.equal(h.log.length, 5, 'nothing written for either')
})

t.test('expected_wal_offset inside a batch compares with the offsets the batch will get', async (t) => {
  const h = withOrder()
  const r = h.write('BATCH', { mode: 'atomic', ops: [create('a', { initial_ctx: { amount: 1 } }), apply('a', 'PAY', { expected_wal_offset: 2 })] })
  t.equal((r.result.results as Array<{ status: string }>)[1].status, 'ok')
})
