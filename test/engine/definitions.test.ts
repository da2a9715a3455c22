import t from 'tap'
import { canonicalJson } from '../../protocol/canonical.js'
import { ORDER } from '../support/machines.js'
import { harness } from './helpers.js'

const VECTOR = { states: ['pending', 'paid'], initial: 'pending', transitions: [{ from: 'pending', event: 'PAY', to: 'paid' }] }
const VECTOR_SUM = 'e26bd76d2d47a0e33a2aa0515665f980072d3734d466edfbee31be3c6c311446'

t.test('checksum test vector (rcp.md §7)', async (t) => {
  const h = harness()
  const v = h.read('VALIDATE_MACHINE', { definition: VECTOR })
  t.equal(canonicalJson(v.normalized), '{"initial":"pending","states":["pending","paid"],"transitions":[{"event":"PAY","from":["pending"],"to":"paid"}]}')
  t.same(v, { valid: true, checksum: VECTOR_SUM, normalized: { states: ['pending', 'paid'], initial: 'pending', transitions: [{ from: ['pending'], event: 'PAY', to: 'paid' }] } })
  const put = h.write('PUT_MACHINE', { machine: 'order', version: 1, definition: VECTOR })
  t.same(put, { result: { machine: 'order', version: 1, stored_checksum: VECTOR_SUM, created: true }, walOffset: 1 })
})

t.test('normalization: from arrays, null guard/meta left out, unknown keys dropped, meta kept', async (t) => {
  const h = harness()
  const v = h.read('VALIDATE_MACHINE', {
    definition: {
      states: ['a', 'b'],
      initial: 'a',
      extra: 1,
      transitions: [
        { from: 'a', event: 'GO', to: 'b', guard: null, meta: null, junk: true },
        { from: ['a', 'b'], event: 'GO', to: 'a', guard: 'ctx.x', meta: { ui: 'red' } },
      ],
      meta: { description: 'd', nested: { z: 1, a: [1, { b: 2 }] } },
    },
  })
  t.same(v.normalized, {
    states: ['a', 'b'],
    initial: 'a',
    transitions: [
      { from: ['a'], event: 'GO', to: 'b' },
      { from: ['a', 'b'], event: 'GO', to: 'a', guard: 'ctx.x', meta: { ui: 'red' } },
    ],
    meta: { description: 'd', nested: { z: 1, a: [1, { b: 2 }] } },
  })
  const n = v.normalized as Record<string, unknown>
  t.notOk('extra' in n)
  t.notOk('guard' in (n.transitions as object[])[0])
})

t.test('meta key order does not change the checksum', async (t) => {
  const h = harness()
  const a = h.read('VALIDATE_MACHINE', { definition: { ...VECTOR, meta: { b: 1, a: { y: 2, x: 1 } } } })
  const b = h.read('VALIDATE_MACHINE', { definition: { meta: { a: { x: 1, y: 2 }, b: 1 }, transitions: VECTOR.transitions, initial: 'pending', states: ['pending', 'paid'] } })
  t.equal(a.checksum, b.checksum)
  t.not(a.checksum, VECTOR_SUM)
})

const cases: Array<[string, unknown, string, string]> = [
  ['not an object', [], 'definition', 'definition must be an object'],
  ['states missing', { initial: 'a', transitions: [] }, 'states', 'states must be a non-empty array of strings'],
  ['states empty', { states: [], initial: 'a', transitions: [] }, 'states', 'states must not be empty'],
  ['state not a string', { states: ['a', 3], initial: 'a', transitions: [] }, 'states[1]', 'states[1] must be a string of 1–256 bytes'],
  ['state empty', { states: ['a', ''], initial: 'a', transitions: [] }, 'states[1]', 'states[1] must be a string of 1–256 bytes'],
  ['state too long', { states: ['a', 'é'.repeat(129)], initial: 'a', transitions: [] }, 'states[1]', 'states[1] must be a string of 1–256 bytes'],
  ['duplicate state', { states: ['a', 'b', 'a'], initial: 'a', transitions: [] }, 'states[2]', 'duplicate state "a"'],
  ['initial not a string', { states: ['a'], initial: 1, transitions: [] }, 'initial', 'initial must be a string'],
  ['initial unknown', { states: ['a'], initial: 'z', transitions: [] }, 'initial', 'initial state "z" is not in states'],
  ['transitions missing', { states: ['a'], initial: 'a' }, 'transitions', 'transitions must be an array'],
  ['transition not an object', { states: ['a'], initial: 'a', transitions: ['x'] }, 'transitions[0]', 'transitions[0] must be an object'],
  ['from missing', { states: ['a'], initial: 'a', transitions: [{ event: 'E', to: 'a' }] }, 'transitions[0].from', 'transitions[0].from must be a string or a non-empty array of strings'],
  ['from empty array', { states: ['a'], initial: 'a', transitions: [{ from: [], event: 'E', to: 'a' }] }, 'transitions[0].from', 'transitions[0].from must be a string or a non-empty array of strings'],
  ['from unknown', { states: ['a'], initial: 'a', transitions: [{ from: 'q', event: 'E', to: 'a' }] }, 'transitions[0].from', 'transitions[0].from: unknown state "q"'],
  ['from item not a string', { states: ['a'], initial: 'a', transitions: [{ from: ['a', 1], event: 'E', to: 'a' }] }, 'transitions[0].from[1]', 'transitions[0].from[1] must be a string'],
  ['from item duplicate', { states: ['a'], initial: 'a', transitions: [{ from: ['a', 'a'], event: 'E', to: 'a' }] }, 'transitions[0].from[1]', 'transitions[0].from[1]: duplicate state "a"'],
  ['from item unknown', { states: ['a'], initial: 'a', transitions: [{ from: ['a', 'q'], event: 'E', to: 'a' }] }, 'transitions[0].from[1]', 'transitions[0].from[1]: unknown state "q"'],
  ['event empty', { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: '', to: 'a' }] }, 'transitions[0].event', 'transitions[0].event must be a string of 1–256 bytes'],
  ['event missing', { states: ['a'], initial: 'a', transitions: [{ from: 'a', to: 'a' }] }, 'transitions[0].event', 'transitions[0].event must be a string of 1–256 bytes'],
  ['to not a string', { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'E', to: 2 }] }, 'transitions[0].to', 'transitions[0].to must be a string'],
  ['to unknown', { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'E', to: 'q' }] }, 'transitions[0].to', 'transitions[0].to: unknown state "q"'],
  ['guard not a string', { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'E', to: 'a', guard: 5 }] }, 'transitions[0].guard', 'transitions[0].guard must be a string'],
  ['meta too deep', { states: ['a'], initial: 'a', transitions: [], meta: JSON.parse('['.repeat(65) + ']'.repeat(65)) }, 'meta', 'meta nests deeper than 64 levels'],
  ['transition meta too deep', { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'E', to: 'a', meta: JSON.parse('{"a":'.repeat(65) + '1' + '}'.repeat(65)) }] }, 'transitions[0].meta', 'transitions[0].meta nests deeper than 64 levels'],
]

t.test('every §7 rule has its message and field', async (t) => {
  const h = harness()
  for (const [name, definition, field, message] of cases) {
    const err = h.failRead('VALIDATE_MACHINE', { definition: definition as object })
    t.equal(err.code, 'BAD_REQUEST', name)
    t.equal(err.message, message, name)
    t.equal(err.details.field, field, name)
    t.same(err.details.errors, [{ field, message }], name)
    const put = h.fail('PUT_MACHINE', { machine: 'm', version: 1, definition: definition as object })
    t.same(put.details, err.details, `${name}: PUT_MACHINE reports the same`)
  }
  t.equal(h.log.length, 0, 'nothing written')
})

t.test('every problem is collected; the first names message and field', async (t) => {
  const h = harness()
  const err = h.failRead('VALIDATE_MACHINE', {
    definition: { states: ['a', 'a'], initial: 'z', transitions: [{ from: 'q', event: 'E', to: 'r', guard: 'ctx.a === 1' }] },
  })
  t.equal(err.message, 'duplicate state "a"')
  t.equal(err.details.field, 'states[1]')
  t.same(err.details.errors, [
    { field: 'states[1]', message: 'duplicate state "a"' },
    { field: 'initial', message: 'initial state "z" is not in states' },
    { field: 'transitions[0].from', message: 'transitions[0].from: unknown state "q"' },
    { field: 'transitions[0].to', message: 'transitions[0].to: unknown state "r"' },
    {
      field: 'transitions[0].guard',
      message: 'invalid guard in transitions[0] "ctx.a === 1": operator "===" is not allowed at character 0',
      transition_index: 0,
      guard: 'ctx.a === 1',
      position: 0,
      reason: 'operator "===" is not allowed',
    },
  ])
})

t.test('a guard problem first puts the §8.3 fields in details', async (t) => {
  const h = harness()
  const err = h.fail('PUT_MACHINE', {
    machine: 'm',
    version: 1,
    definition: { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'E', to: 'a' }, { from: 'a', event: 'F', to: 'a', guard: 'ctx.a && foo' }] },
  })
  t.equal(err.code, 'BAD_REQUEST')
  t.equal(err.message, 'invalid guard in transitions[1] "ctx.a && foo": unknown identifier "foo" at character 9')
  t.match(err.details, { field: 'transitions[1].guard', transition_index: 1, guard: 'ctx.a && foo', position: 9, reason: 'unknown identifier "foo"' })
  t.equal((err.details.errors as unknown[]).length, 1)
})

t.test('duplicate (from, event) pairs are allowed', async (t) => {
  const h = harness()
  const v = h.read('VALIDATE_MACHINE', {
    definition: { states: ['a', 'b'], initial: 'a', transitions: [{ from: 'a', event: 'E', to: 'a', guard: 'ctx.x' }, { from: 'a', event: 'E', to: 'b' }] },
  })
  t.equal(v.valid, true)
})

t.test('PUT_MACHINE: identical re-put, different checksum, checksum param, version limit', async (t) => {
  const h = harness({ maxMachineVersions: 2 })
  const first = h.write('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  t.equal(first.result.created, true)
  h.write('PUT_MACHINE', { machine: 'other', version: 1, definition: VECTOR })
  const again = h.write('PUT_MACHINE', { machine: 'order', version: 1, definition: { ...ORDER, junk: 1 } })
  t.same(again, { result: { ...first.result, created: false }, walOffset: first.walOffset }, 'created:false, offset of the original')
  t.equal(h.log.length, 2, 'nothing written for the identical re-put')

  const exists = h.fail('PUT_MACHINE', { machine: 'order', version: 1, definition: VECTOR })
  t.equal(exists.code, 'MACHINE_VERSION_EXISTS')
  t.same(exists.details, { machine: 'order', version: 1, stored_checksum: first.result.stored_checksum })

  const mismatch = h.fail('PUT_MACHINE', { machine: 'order', version: 2, definition: VECTOR, checksum: 'abc' })
  t.equal(mismatch.code, 'BAD_REQUEST')
  t.same(mismatch.details, { field: 'checksum', expected: 'abc', actual: VECTOR_SUM })
  const upper = h.write('PUT_MACHINE', { machine: 'order', version: 2, definition: VECTOR, checksum: VECTOR_SUM.toUpperCase() })
  t.equal(upper.result.created, true, 'checksum compared case-insensitively')

  const limit = h.fail('PUT_MACHINE', { machine: 'order', version: 3, definition: VECTOR })
  t.equal(limit.code, 'MACHINE_VERSION_LIMIT_EXCEEDED')
  t.same(limit.details, { machine: 'order', limit: 2, versions: 2 })
  t.equal(h.write('PUT_MACHINE', { machine: 'order', version: 2, definition: VECTOR }).result.created, false, 're-put at the limit is fine')

  const entry = h.log[0].entry
  t.match(entry, { type: 'put_machine', machine: 'order', version: 1, definition_hash: first.result.stored_checksum, ts: h.clock.now })
})

t.test('GET_MACHINE and LIST_MACHINES', async (t) => {
  const h = harness()
  h.write('PUT_MACHINE', { machine: 'order', version: 2, definition: VECTOR })
  h.write('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  h.write('PUT_MACHINE', { machine: 'Zed', version: 1, definition: VECTOR })
  t.same(h.read('LIST_MACHINES'), { items: [{ machine: 'Zed', versions: [1] }, { machine: 'order', versions: [1, 2] }] })
  t.same(h.read('GET_MACHINE', { machine: 'order' }), { definition: h.read('VALIDATE_MACHINE', { definition: VECTOR }).normalized, checksum: VECTOR_SUM, machine: 'order', version: 2 })
  t.equal(h.read('GET_MACHINE', { machine: 'order', version: 1 }).version, 1)
  const missing = h.failRead('GET_MACHINE', { machine: 'order', version: 9 })
  t.equal(missing.code, 'MACHINE_NOT_FOUND')
  t.same(missing.details, { machine: 'order', version: 9 })
  t.same(h.failRead('GET_MACHINE', { machine: 'nope' }).details, { machine: 'nope' })
})

t.test('invalid stored definitions are skipped on replay with a warning', async (t) => {
  const h = harness()
  h.engine.apply({ type: 'put_machine', machine: 'bad', version: 1, definition_hash: 'x', definition: { states: [], initial: 'a', transitions: [] }, ts: 1 }, 1)
  t.same(h.read('LIST_MACHINES'), { items: [] })
  t.equal(h.warnings.length, 1)
  t.match(h.warnings[0].fields, { machine: 'bad', version: 1, sequence: 1 })
})
