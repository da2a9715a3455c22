import t, { type Test } from 'tap'
import { RcpError } from '../../protocol/errors.js'
import { OP_NAMES, OPS, validateParams } from '../../protocol/schemas.js'

const N3 = '€' // 3 bytes of UTF-8 in 1 UTF-16 unit
const NAME_256 = 'a'.repeat(256)
const NAME_257 = 'a'.repeat(257)
const NAME_255_BYTES = N3.repeat(85) // 255 bytes
const NAME_258_BYTES = N3.repeat(86) // 86 characters, 258 bytes
const NAME_260_BYTES = '😀'.repeat(65) // 130 UTF-16 units, 260 bytes
const DEF = { states: ['a'], initial: 'a', transitions: [] }

/** Asserts BAD_REQUEST naming `field` (and more details when given). */
function rejects (t: Test, op: string, params: unknown, details: Record<string, unknown>, name?: string): void {
  const label = name ?? `${op} ${JSON.stringify(params)?.slice(0, 80)}`
  try {
    validateParams(op, params)
    t.fail(`${label}: accepted`)
  } catch (err) {
    t.ok(err instanceof RcpError, label)
    const e = err as RcpError
    t.equal(e.code, 'BAD_REQUEST', label)
    t.same(e.details, details, label)
    if (typeof details.field === 'string') t.ok(e.message.includes(details.field), `${label}: message names the field`)
  }
}

const VALID: Record<string, Record<string, unknown>> = {
  HELLO: { protocol_version: 1 },
  AUTH: { method: 'bearer', token: 'x' },
  PING: {},
  BYE: {},
  INFO: {},
  PUT_MACHINE: { machine: 'm', version: 1, definition: DEF },
  GET_MACHINE: { machine: 'm' },
  LIST_MACHINES: {},
  CREATE_INSTANCE: { machine: 'm', version: 1 },
  GET_INSTANCE: { instance_id: 'i' },
  LIST_INSTANCES: {},
  DELETE_INSTANCE: { instance_id: 'i' },
  APPLY_EVENT: { instance_id: 'i', event: 'E' },
  BATCH: { ops: [] },
  WATCH_INSTANCE: { instance_id: 'i' },
  WATCH_ALL: {},
  UNWATCH: { subscription_id: 's' },
  SNAPSHOT_INSTANCE: { instance_id: 'i' },
  WAL_READ: { from_offset: 0 },
  WAL_STATS: {},
  COMPACT: {},
  VALIDATE_MACHINE: { definition: DEF },
  GET_DIAGRAM: { machine: 'm' },
  GET_HISTORY: { instance_id: 'i' },
  GET_TRANSITIONS: { instance_id: 'i' },
}

t.test('registry lists the 21 ops of §6, VALIDATE_MACHINE, GET_DIAGRAM and the history.md extensions', async (t) => {
  t.same([...OP_NAMES].sort(), Object.keys(VALID).sort())
  t.same(OP_NAMES.filter((op) => OPS[op].write).sort(), ['APPLY_EVENT', 'BATCH', 'CREATE_INSTANCE', 'DELETE_INSTANCE', 'PUT_MACHINE'])
})

t.test('minimal valid params pass for every op; unknown params are kept', async (t) => {
  for (const op of OP_NAMES) {
    const out = validateParams(op, { ...VALID[op], some_future_param: [1] })
    t.same(out.some_future_param, [1], op)
  }
})

t.test('unknown op', async (t) => {
  rejects(t, 'NOPE', {}, { op: 'NOPE' })
  rejects(t, 'ping', {}, { op: 'ping' }, 'op names are case-sensitive')
  rejects(t, 'toString', {}, { op: 'toString' }, 'no prototype keys')
})

t.test('null or absent params are {}; other non-objects are refused', async (t) => {
  t.same(validateParams('PING', null), {})
  t.same(validateParams('PING', undefined), {})
  for (const bad of [[], 'x', 1, true]) rejects(t, 'PING', bad, { field: 'params' })
})

t.test('defaults', async (t) => {
  t.same(validateParams('HELLO', { protocol_version: 1 }), { protocol_version: 1, wire_modes: [], features: [] })
  t.same(validateParams('CREATE_INSTANCE', { machine: 'm', version: 1 }), { machine: 'm', version: 1, initial_ctx: {} })
  t.same(validateParams('LIST_INSTANCES', {}), { limit: 100, offset: 0 })
  t.same(validateParams('BATCH', { ops: [] }), { ops: [], mode: 'best_effort' })
  t.same(validateParams('WATCH_INSTANCE', { instance_id: 'i' }), { instance_id: 'i', include_ctx: true })
  t.same(validateParams('WATCH_ALL', {}), { machines: [], from_states: [], to_states: [], events: [], include_ctx: true })
  t.same(validateParams('WAL_READ', { from_offset: 3 }), { from_offset: 3, limit: 100 })
  t.same(validateParams('COMPACT', {}), { force_snapshot: false })
  t.same(validateParams('GET_DIAGRAM', { machine: 'm' }), { machine: 'm', format: 'svg' })
  t.same(validateParams('GET_HISTORY', { instance_id: 'i' }), { instance_id: 'i', limit: 100, reverse: false })
  t.same(validateParams('COMPACT', { force_snapshot: true }), { force_snapshot: true })
  t.same(validateParams('LIST_INSTANCES', { limit: 0, offset: 5 }), { limit: 0, offset: 5 }, 'given values win')

  const a = validateParams('WATCH_ALL', {})
  const b = validateParams('WATCH_ALL', {})
  t.not(a.machines, b.machines, 'default arrays are not shared between calls')
})

t.test('explicit null optionals mean absent; the input is not mutated', async (t) => {
  const input = { instance_id: 'i', event: 'E', payload: null, expected_state: null, expected_wal_offset: null, event_id: null, idempotency_key: null }
  const out = validateParams('APPLY_EVENT', input)
  t.same(out, { instance_id: 'i', event: 'E' })
  t.equal(input.payload, null, 'input untouched')
  t.same(validateParams('CREATE_INSTANCE', { machine: 'm', version: 1, initial_ctx: null, instance_id: null }), { machine: 'm', version: 1, initial_ctx: {} })
  t.same(validateParams('WAL_READ', { from_offset: 1, limit: null }), { from_offset: 1, limit: 100 })
  t.same(validateParams('GET_MACHINE', { machine: 'm', version: null }), { machine: 'm' })
  const same = { instance_id: 'i', event: 'E' }
  t.equal(validateParams('APPLY_EVENT', same), same, 'nothing to change: the same object comes back')
})

t.test('required params that are missing or null', async (t) => {
  rejects(t, 'HELLO', {}, { field: 'protocol_version' })
  rejects(t, 'AUTH', { method: 'bearer' }, { field: 'token' })
  rejects(t, 'AUTH', { token: 'x' }, { field: 'method' })
  rejects(t, 'PUT_MACHINE', { machine: 'm', version: 1 }, { field: 'definition' })
  rejects(t, 'PUT_MACHINE', { machine: 'm', definition: DEF }, { field: 'version' })
  rejects(t, 'PUT_MACHINE', { version: 1, definition: DEF }, { field: 'machine' })
  rejects(t, 'GET_MACHINE', {}, { field: 'machine' })
  rejects(t, 'CREATE_INSTANCE', { machine: 'm' }, { field: 'version' })
  rejects(t, 'GET_INSTANCE', {}, { field: 'instance_id' })
  rejects(t, 'GET_INSTANCE', { instance_id: null }, { field: 'instance_id' })
  rejects(t, 'DELETE_INSTANCE', {}, { field: 'instance_id' })
  rejects(t, 'APPLY_EVENT', { instance_id: 'i' }, { field: 'event' })
  rejects(t, 'APPLY_EVENT', { event: 'E' }, { field: 'instance_id' })
  rejects(t, 'BATCH', {}, { field: 'ops' })
  rejects(t, 'WATCH_INSTANCE', {}, { field: 'instance_id' })
  rejects(t, 'UNWATCH', {}, { field: 'subscription_id' })
  rejects(t, 'SNAPSHOT_INSTANCE', {}, { field: 'instance_id' })
  rejects(t, 'WAL_READ', {}, { field: 'from_offset' })
  rejects(t, 'VALIDATE_MACHINE', {}, { field: 'definition' })
  rejects(t, 'GET_DIAGRAM', {}, { field: 'machine' })
  rejects(t, 'GET_HISTORY', {}, { field: 'instance_id' })
  rejects(t, 'GET_DIAGRAM', { machine: 'm', format: 'png' }, { field: 'format' })
  rejects(t, 'GET_DIAGRAM', { machine: 'm', highlight: '' }, { field: 'highlight' })
  rejects(t, 'VALIDATE_MACHINE', { definition: null }, { field: 'definition' })
})

t.test('wrong JSON types', async (t) => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['HELLO', { protocol_version: '1' }, 'protocol_version'],
    ['HELLO', { protocol_version: 1, client_name: 5 }, 'client_name'],
    ['HELLO', { protocol_version: 1, wire_modes: 'jsonl' }, 'wire_modes'],
    ['HELLO', { protocol_version: 1, wire_modes: ['jsonl', 7] }, 'wire_modes[1]'],
    ['HELLO', { protocol_version: 1, features: {} }, 'features'],
    ['AUTH', { method: 1, token: 'x' }, 'method'],
    ['AUTH', { method: 'bearer', token: ['x'] }, 'token'],
    ['PUT_MACHINE', { machine: 1, version: 1, definition: DEF }, 'machine'],
    ['PUT_MACHINE', { machine: 'm', version: '1', definition: DEF }, 'version'],
    ['PUT_MACHINE', { machine: 'm', version: 1, definition: [] }, 'definition'],
    ['PUT_MACHINE', { machine: 'm', version: 1, definition: 'x' }, 'definition'],
    ['PUT_MACHINE', { machine: 'm', version: 1, definition: DEF, checksum: 1 }, 'checksum'],
    ['GET_MACHINE', { machine: 'm', version: true }, 'version'],
    ['CREATE_INSTANCE', { machine: 'm', version: 1, instance_id: 5 }, 'instance_id'],
    ['CREATE_INSTANCE', { machine: 'm', version: 1, initial_ctx: [] }, 'initial_ctx'],
    ['CREATE_INSTANCE', { machine: 'm', version: 1, initial_ctx: 'x' }, 'initial_ctx'],
    ['CREATE_INSTANCE', { machine: 'm', version: 1, idempotency_key: 1 }, 'idempotency_key'],
    ['LIST_INSTANCES', { machine: 1 }, 'machine'],
    ['LIST_INSTANCES', { state: false }, 'state'],
    ['LIST_INSTANCES', { limit: '10' }, 'limit'],
    ['LIST_INSTANCES', { offset: [] }, 'offset'],
    ['LIST_INSTANCES', { after: 3 }, 'after'],
    ['DELETE_INSTANCE', { instance_id: 'i', idempotency_key: {} }, 'idempotency_key'],
    ['APPLY_EVENT', { instance_id: 'i', event: 'E', payload: 'x' }, 'payload'],
    ['APPLY_EVENT', { instance_id: 'i', event: 'E', payload: [1] }, 'payload'],
    ['APPLY_EVENT', { instance_id: 'i', event: 'E', payload: 3 }, 'payload'],
    ['APPLY_EVENT', { instance_id: 'i', event: 'E', expected_state: 1 }, 'expected_state'],
    ['APPLY_EVENT', { instance_id: 'i', event: 'E', expected_wal_offset: '3' }, 'expected_wal_offset'],
    ['APPLY_EVENT', { instance_id: 'i', event: 'E', event_id: 1 }, 'event_id'],
    ['APPLY_EVENT', { instance_id: 1, event: 'E' }, 'instance_id'],
    ['WATCH_INSTANCE', { instance_id: 'i', include_ctx: 'yes' }, 'include_ctx'],
    ['WATCH_INSTANCE', { instance_id: 'i', from_offset: '1' }, 'from_offset'],
    ['WATCH_ALL', { machines: 'order' }, 'machines'],
    ['WATCH_ALL', { events: ['A', 1] }, 'events[1]'],
    ['WATCH_ALL', { from_states: [null] }, 'from_states[0]'],
    ['WATCH_ALL', { to_states: {} }, 'to_states'],
    ['WATCH_ALL', { include_ctx: 0 }, 'include_ctx'],
    ['UNWATCH', { subscription_id: 5 }, 'subscription_id'],
    ['WAL_READ', { from_offset: '1' }, 'from_offset'],
    ['COMPACT', { force_snapshot: 'true' }, 'force_snapshot'],
    ['GET_INSTANCE', { instance_id: 'i', at_offset: '3' }, 'at_offset'],
    ['GET_HISTORY', { instance_id: 'i', from_offset: '3' }, 'from_offset'],
    ['GET_HISTORY', { instance_id: 'i', limit: '3' }, 'limit'],
    ['GET_HISTORY', { instance_id: 'i', reverse: 'true' }, 'reverse'],
  ]
  for (const [op, params, field] of cases) rejects(t, op, params, { field })
})

t.test('integers: no fraction, range 0 … 2^53−1 unless narrower', async (t) => {
  const MAX = Number.MAX_SAFE_INTEGER
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['PUT_MACHINE', { machine: 'm', version: 1.5, definition: DEF }, 'version'],
    ['PUT_MACHINE', { machine: 'm', version: 0, definition: DEF }, 'version'],
    ['PUT_MACHINE', { machine: 'm', version: 4294967296, definition: DEF }, 'version'],
    ['PUT_MACHINE', { machine: 'm', version: -1, definition: DEF }, 'version'],
    ['CREATE_INSTANCE', { machine: 'm', version: -1 }, 'version'],
    ['CREATE_INSTANCE', { machine: 'm', version: 2.0001 }, 'version'],
    ['GET_MACHINE', { machine: 'm', version: MAX + 1 }, 'version'],
    ['HELLO', { protocol_version: 1.5 }, 'protocol_version'],
    ['LIST_INSTANCES', { limit: -1 }, 'limit'],
    ['LIST_INSTANCES', { limit: 1.5 }, 'limit'],
    ['LIST_INSTANCES', { offset: -5 }, 'offset'],
    ['LIST_INSTANCES', { offset: MAX + 1 }, 'offset'],
    ['APPLY_EVENT', { instance_id: 'i', event: 'E', expected_wal_offset: -1 }, 'expected_wal_offset'],
    ['APPLY_EVENT', { instance_id: 'i', event: 'E', expected_wal_offset: 0.5 }, 'expected_wal_offset'],
    ['WATCH_INSTANCE', { instance_id: 'i', from_offset: 1e300 }, 'from_offset'],
    ['WATCH_ALL', { from_offset: -1 }, 'from_offset'],
    ['WAL_READ', { from_offset: 1, limit: 0 }, 'limit'],
    ['WAL_READ', { from_offset: 1, limit: 2.5 }, 'limit'],
    ['WAL_READ', { from_offset: -1 }, 'from_offset'],
    ['GET_INSTANCE', { instance_id: 'i', at_offset: -1 }, 'at_offset'],
    ['GET_INSTANCE', { instance_id: 'i', at_offset: 2.5 }, 'at_offset'],
    ['GET_HISTORY', { instance_id: 'i', from_offset: -1 }, 'from_offset'],
    ['GET_HISTORY', { instance_id: 'i', from_offset: 1.5 }, 'from_offset'],
    ['GET_HISTORY', { instance_id: 'i', limit: 0 }, 'limit'],
    ['GET_HISTORY', { instance_id: 'i', limit: -1 }, 'limit'],
    ['GET_HISTORY', { instance_id: 'i', limit: 2.5 }, 'limit'],
  ]
  for (const [op, params, field] of cases) rejects(t, op, params, { field })

  t.equal(validateParams('PUT_MACHINE', { machine: 'm', version: 4294967295, definition: DEF }).version, 4294967295)
  t.equal(validateParams('PUT_MACHINE', { machine: 'm', version: 2.0, definition: DEF }).version, 2, '2.0 is the integer 2')
  t.equal(validateParams('CREATE_INSTANCE', { machine: 'm', version: 0 }).version, 0, 'no narrower range for CREATE version')
  t.equal(validateParams('LIST_INSTANCES', { offset: MAX }).offset, MAX)
  t.equal(validateParams('WAL_READ', { from_offset: 0, limit: 5000 }).limit, 5000, 'large limits are clamped by the op, not refused')
  t.equal(validateParams('LIST_INSTANCES', { limit: 5000 }).limit, 5000)
  t.equal(validateParams('GET_HISTORY', { instance_id: 'i', limit: 5000 }).limit, 5000, 'GET_HISTORY clamps too')
  for (const v of [0, -3, 2, 2 ** 40]) {
    t.equal(validateParams('HELLO', { protocol_version: v }).protocol_version, v, `protocol_version ${v} is left to the session`)
  }
})

t.test('names are 1–256 bytes of UTF-8', async (t) => {
  const fields: Array<[string, (v: unknown) => Record<string, unknown>, string]> = [
    ['PUT_MACHINE', (v) => ({ machine: v, version: 1, definition: DEF }), 'machine'],
    ['GET_MACHINE', (v) => ({ machine: v }), 'machine'],
    ['CREATE_INSTANCE', (v) => ({ machine: v, version: 1 }), 'machine'],
    ['CREATE_INSTANCE', (v) => ({ machine: 'm', version: 1, instance_id: v }), 'instance_id'],
    ['CREATE_INSTANCE', (v) => ({ machine: 'm', version: 1, idempotency_key: v }), 'idempotency_key'],
    ['GET_INSTANCE', (v) => ({ instance_id: v }), 'instance_id'],
    ['LIST_INSTANCES', (v) => ({ machine: v }), 'machine'],
    ['LIST_INSTANCES', (v) => ({ state: v }), 'state'],
    ['DELETE_INSTANCE', (v) => ({ instance_id: v }), 'instance_id'],
    ['DELETE_INSTANCE', (v) => ({ instance_id: 'i', idempotency_key: v }), 'idempotency_key'],
    ['APPLY_EVENT', (v) => ({ instance_id: v, event: 'E' }), 'instance_id'],
    ['APPLY_EVENT', (v) => ({ instance_id: 'i', event: v }), 'event'],
    ['APPLY_EVENT', (v) => ({ instance_id: 'i', event: 'E', expected_state: v }), 'expected_state'],
    ['APPLY_EVENT', (v) => ({ instance_id: 'i', event: 'E', event_id: v }), 'event_id'],
    ['APPLY_EVENT', (v) => ({ instance_id: 'i', event: 'E', idempotency_key: v }), 'idempotency_key'],
    ['WATCH_INSTANCE', (v) => ({ instance_id: v }), 'instance_id'],
    ['WATCH_ALL', (v) => ({ machines: ['ok', v] }), 'machines[1]'],
    ['WATCH_ALL', (v) => ({ to_states: [v] }), 'to_states[0]'],
    ['UNWATCH', (v) => ({ subscription_id: v }), 'subscription_id'],
    ['SNAPSHOT_INSTANCE', (v) => ({ instance_id: v }), 'instance_id'],
    ['GET_HISTORY', (v) => ({ instance_id: v }), 'instance_id'],
  ]
  for (const [op, make, field] of fields) {
    for (const good of ['x', NAME_256, NAME_255_BYTES, 'é'.repeat(128)]) {
      t.doesNotThrow(() => validateParams(op, make(good)), `${op} ${field}: ${Buffer.byteLength(good)} bytes ok`)
    }
    for (const bad of ['', NAME_257, NAME_258_BYTES, NAME_260_BYTES, 'é'.repeat(129)]) {
      rejects(t, op, make(bad), { field }, `${op} ${field}: ${Buffer.byteLength(bad)} bytes refused`)
    }
  }
  try {
    validateParams('APPLY_EVENT', { instance_id: 'i', event: NAME_258_BYTES })
  } catch (err) {
    t.match((err as Error).message, /258 bytes/, 'the message gives the byte count')
  }
})

t.test('the first offending field is reported', async (t) => {
  rejects(t, 'PUT_MACHINE', { version: 0, definition: [] }, { field: 'machine' }, 'a missing required param comes first')
})

t.test('BATCH structure (§6.13)', async (t) => {
  const ok = { op: 'APPLY_EVENT', params: { instance_id: 'i', event: 'E' } }
  t.same(validateParams('BATCH', { mode: 'atomic', ops: [ok] }), { mode: 'atomic', ops: [ok] })
  t.same(validateParams('BATCH', { mode: null, ops: [] }), { mode: 'best_effort', ops: [] })
  t.equal((validateParams('BATCH', { ops: Array(100).fill(ok) }).ops as unknown[]).length, 100, '100 ops allowed')

  rejects(t, 'BATCH', { ops: 'x' }, { field: 'ops' })
  rejects(t, 'BATCH', { ops: {} }, { field: 'ops' })
  rejects(t, 'BATCH', { ops: null }, { field: 'ops' })
  rejects(t, 'BATCH', { mode: 'all', ops: [] }, { field: 'mode' })
  rejects(t, 'BATCH', { mode: 1, ops: [] }, { field: 'mode' })
  rejects(t, 'BATCH', { ops: Array(101).fill(ok) }, { field: 'ops', batch_index: 100 })
  rejects(t, 'BATCH', { ops: [ok, ok, { op: 'PING', params: {} }] }, { field: 'ops[2].op', batch_index: 2 })
  rejects(t, 'BATCH', { ops: [ok, { op: 'BATCH', params: {} }] }, { field: 'ops[1].op', batch_index: 1 })
  rejects(t, 'BATCH', { ops: [ok, { op: 'VALIDATE_MACHINE', params: {} }] }, { field: 'ops[1].op', batch_index: 1 })
  rejects(t, 'BATCH', { ops: [{ op: 'apply_event', params: {} }] }, { field: 'ops[0].op', batch_index: 0 })
  rejects(t, 'BATCH', { ops: [ok, { params: {} }] }, { field: 'ops[1].op', batch_index: 1 })
  rejects(t, 'BATCH', { ops: [ok, ok, { op: 'APPLY_EVENT' }] }, { field: 'ops[2].params', batch_index: 2 })
  rejects(t, 'BATCH', { ops: [{ op: 'APPLY_EVENT', params: null }] }, { field: 'ops[0].params', batch_index: 0 })
  rejects(t, 'BATCH', { ops: [{ op: 'APPLY_EVENT', params: [] }] }, { field: 'ops[0].params', batch_index: 0 })
  rejects(t, 'BATCH', { ops: [ok, 'APPLY_EVENT'] }, { field: 'ops[1]', batch_index: 1 })
  rejects(t, 'BATCH', { ops: [ok, null] }, { field: 'ops[1]', batch_index: 1 })

  t.doesNotThrow(() => validateParams('BATCH', { ops: [{ op: 'APPLY_EVENT', params: {} }] }), 'sub-op params are checked later by the engine')
})
