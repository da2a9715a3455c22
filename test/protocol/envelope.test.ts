import t, { type Test } from 'tap'
import { parseMessage } from '../../protocol/codec.js'
import { EnvelopeError, validateEnvelope } from '../../protocol/schemas.js'

function rejects (t: Test, message: unknown, expected: { id: string, details: Record<string, unknown>, traceId?: string }, name: string): void {
  try {
    validateEnvelope(message)
    t.fail(`${name}: accepted`)
  } catch (err) {
    t.ok(err instanceof EnvelopeError, name)
    const e = err as EnvelopeError
    t.equal(e.code, 'BAD_REQUEST', name)
    t.equal(e.id, expected.id, `${name}: echoes id ${JSON.stringify(expected.id)}`)
    t.equal(e.traceId, expected.traceId, `${name}: trace id`)
    t.same(e.details, expected.details, name)
    t.same(e.toJSON().details, expected.details, `${name}: wire details carry nothing else`)
  }
}

t.test('a valid request', async (t) => {
  t.same(validateEnvelope({ type: 'request', id: '1', op: 'PING' }), { id: '1', op: 'PING', params: {} })
  t.same(validateEnvelope({ id: '1', op: 'PING', params: null }), { id: '1', op: 'PING', params: {} }, 'type optional, null params = {}')
  t.same(validateEnvelope({ id: '1', op: 'GET_INSTANCE', params: { instance_id: 'x' }, trace_id: 't-1', extra: 1 }),
    { id: '1', op: 'GET_INSTANCE', params: { instance_id: 'x' }, trace_id: 't-1' }, 'unknown envelope fields ignored')
  t.same(validateEnvelope({ id: '1', op: 'PING', trace_id: null }), { id: '1', op: 'PING', params: {} }, 'null trace_id is absent')
  t.same(validateEnvelope({ id: 'x'.repeat(256), op: 'PING', trace_id: '€'.repeat(85) }).id.length, 256)
  const params = { instance_id: 'x', wrong: true }
  t.equal(validateEnvelope({ id: '1', op: 'GET_INSTANCE', params }).params, params, 'params are not checked or copied here')
  t.same(validateEnvelope(parseMessage(Buffer.from('{"type":"request","id":"1","op":"PING"}'))), { id: '1', op: 'PING', params: {} })
})

t.test('id rules (§4.1): the response echoes ""', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['missing', undefined],
    ['empty', ''],
    ['257 bytes', 'x'.repeat(257)],
    ['258 bytes in 86 characters', '€'.repeat(86)],
    ['a number', 7],
    ['null', null],
    ['an object', { a: 1 }],
  ]
  for (const [name, id] of cases) {
    rejects(t, { id, op: 'PING' }, { id: '', details: { field: 'id' } }, `id ${name}`)
  }
  rejects(t, { id: 7, op: 'NOPE', type: 'bad' }, { id: '', details: { field: 'id' } }, 'id is checked first')
})

t.test('type, op, params and trace_id echo the valid id', async (t) => {
  rejects(t, { type: 'response', id: 'a', op: 'PING' }, { id: 'a', details: { field: 'type' } }, 'type not "request"')
  rejects(t, { type: null, id: 'a', op: 'PING' }, { id: 'a', details: { field: 'type' } }, 'type null')
  rejects(t, { id: 'a' }, { id: 'a', details: { field: 'op' } }, 'op missing')
  rejects(t, { id: 'a', op: 3 }, { id: 'a', details: { field: 'op' } }, 'op not a string')
  rejects(t, { id: 'a', op: 'NOPE' }, { id: 'a', details: { op: 'NOPE' } }, 'unknown op')
  rejects(t, { id: 'a', op: 'ping' }, { id: 'a', details: { op: 'ping' } }, 'ops are case-sensitive')
  rejects(t, { id: 'a', op: 'constructor' }, { id: 'a', details: { op: 'constructor' } }, 'prototype keys are not ops')
  rejects(t, { id: 'a', op: 'PING', params: [] }, { id: 'a', details: { field: 'params' } }, 'params array')
  rejects(t, { id: 'a', op: 'PING', params: 'x' }, { id: 'a', details: { field: 'params' } }, 'params string')
  rejects(t, { id: 'a', op: 'PING', trace_id: 't'.repeat(257) }, { id: 'a', details: { field: 'trace_id' } }, 'trace_id > 256 bytes')
  rejects(t, { id: 'a', op: 'PING', trace_id: '€'.repeat(86) }, { id: 'a', details: { field: 'trace_id' } }, 'trace_id 258 bytes')
  rejects(t, { id: 'a', op: 'PING', trace_id: 5 }, { id: 'a', details: { field: 'trace_id' } }, 'trace_id not a string')
  rejects(t, { id: 'a', op: 'NOPE', trace_id: 'tr' }, { id: 'a', details: { op: 'NOPE' }, traceId: 'tr' }, 'a valid trace_id rides along')
})

t.test('a message that is not an object', async (t) => {
  for (const m of [null, [], 'x', 3]) {
    rejects(t, m, { id: '', details: { reason: 'not_an_object' } }, JSON.stringify(m))
  }
})
