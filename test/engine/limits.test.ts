import t from 'tap'
import { MAX_RECORD_PAYLOAD } from '../../protocol/entries.js'
import { MAX_JSON_DEPTH, measureJson } from '../../src/engine/limits.js'
import { withOrder } from './helpers.js'

const nest = (levels: number): Record<string, unknown> => JSON.parse('{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1))

t.test('measureJson: depth and a size bound', async (t) => {
  t.same(measureJson(1).depth, 0)
  t.same(measureJson({}).depth, 1)
  t.same(measureJson({ a: [1, { b: [] }] }).depth, 4)
  for (const v of [{ a: 'é€😀"\\\n', b: [1, 2.5, null, true], c: { d: '' } }, { [`k${'x'.repeat(50)}`]: 'y'.repeat(100) }]) {
    t.ok(measureJson(v).bytes >= Buffer.byteLength(JSON.stringify(v)), 'bound ≥ real size')
  }
  t.equal(measureJson(nest(10_000)).depth, MAX_JSON_DEPTH + 1, 'stops once past the limit')
})

t.test('ctx and payload nesting is bounded', async (t) => {
  const h = withOrder()
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'ok', initial_ctx: nest(MAX_JSON_DEPTH) })
  const deep = h.fail('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'x', initial_ctx: nest(MAX_JSON_DEPTH + 1) })
  t.equal(deep.code, 'BAD_REQUEST')
  t.equal(deep.message, `initial_ctx nests deeper than ${MAX_JSON_DEPTH} levels`)
  t.same(deep.details, { field: 'initial_ctx', reason: 'too_deep', limit: MAX_JSON_DEPTH })
  const huge = h.fail('APPLY_EVENT', { instance_id: 'ok', event: 'CANCEL', payload: nest(100_000) })
  t.same(huge.details, { field: 'payload', reason: 'too_deep', limit: MAX_JSON_DEPTH }, 'very deep payloads fail cleanly')
})

t.test('records above the cap are BAD_REQUEST record_too_large', async (t) => {
  const h = withOrder()
  const big = 'x'.repeat(MAX_RECORD_PAYLOAD)
  const err = h.fail('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'x', initial_ctx: { big } })
  t.equal(err.code, 'BAD_REQUEST')
  t.match(err.details, { reason: 'record_too_large', limit: MAX_RECORD_PAYLOAD })
  t.ok((err.details.size as number) > MAX_RECORD_PAYLOAD)

  // the merged ctx grows past the cap over two events of 6 MB each (an entry holds payload and ctx)
  const half = 'y'.repeat(6 * 1024 * 1024)
  h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o', initial_ctx: { amount: 1 } })
  h.write('APPLY_EVENT', { instance_id: 'o', event: 'PAY', payload: { a: half } })
  const merged = h.fail('APPLY_EVENT', { instance_id: 'o', event: 'SHIP', payload: { b: half } })
  t.match(merged.details, { reason: 'record_too_large' })
  t.equal(h.write('APPLY_EVENT', { instance_id: 'o', event: 'SHIP', payload: { a: 'small' } }).result.to_state, 'shipped', 'replacing the key keeps it small')

  const batch = h.fail('BATCH', {
    ops: [
      { op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'b1', initial_ctx: { half } } },
      { op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'b2', initial_ctx: { half } } },
      { op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'b3', initial_ctx: { half } } },
    ],
  })
  t.match(batch.details, { reason: 'record_too_large' }, 'a batch whose results pass the cap is refused whole')
  t.equal(h.engine.getInstance('b1'), undefined)

  // 100 creates of 40 kB each: far below the cap, though their size bounds add up past it
  const ops = Array.from({ length: 100 }, (_, i) => ({ op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: `c${i}`, initial_ctx: { s: 'z'.repeat(40_000) } } }))
  const ok = h.write('BATCH', { mode: 'atomic', ops })
  t.equal((ok.result.results as unknown[]).length, 100)
})

t.test('guards on a deep ctx do not throw', async (t) => {
  const h = withOrder()
  h.write('PUT_MACHINE', { machine: 'eq', version: 1, definition: { states: ['a', 'b'], initial: 'a', transitions: [{ from: 'a', event: 'E', to: 'b', guard: 'ctx.x == ctx.y' }] } })
  h.write('CREATE_INSTANCE', { machine: 'eq', version: 1, instance_id: 'd', initial_ctx: { x: nest(60), y: nest(60) } })
  t.equal(h.write('APPLY_EVENT', { instance_id: 'd', event: 'E' }).result.to_state, 'b')
})
