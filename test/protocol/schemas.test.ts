import t from 'tap'
import Fastify from 'fastify'
import { Value } from '@sinclair/typebox/value'
import type { TSchema } from '@sinclair/typebox'
import {
  ErrorBody,
  EventMessage,
  OP_NAMES,
  OPS,
  RequestEnvelope,
  ResponseError,
  ResponseOk,
  SubscriptionEnd,
  type OpName,
} from '../../protocol/schemas.js'

const DEF = { states: ['pending', 'paid'], initial: 'pending', transitions: [{ from: ['pending'], event: 'PAY', to: 'paid', guard: 'ctx.a > 0', meta: { ui: 'red' } }], meta: { d: 1 } }
const CTX = { customer: 'alice', nested: { list: [1, 'two', null], flag: true } }

/** One realistic result per op (rcp.md §6), including the Extension fields. */
const RESULTS: Record<OpName, Record<string, unknown>> = {
  HELLO: { protocol_version: 1, wire_mode: 'binary_json', server_name: 'rstmdb', server_version: '0.1.0', features: ['idempotency', 'batch'] },
  AUTH: { authenticated: true },
  PING: { pong: true },
  BYE: { goodbye: true },
  INFO: { server_name: 'rstmdb', server_version: '0.1.0', protocol_version: 1, features: ['idempotency', 'batch', 'wal_read', 'watch_replay', 'diagram', 'transitions', 'dry_run', 'lifecycle_events'], max_frame_bytes: 16777216, max_batch_ops: 100, uptime_secs: 5, wal_offset: 42, machines: 2, instances: 10, connections: 1 },
  PUT_MACHINE: { machine: 'order', version: 1, stored_checksum: 'e26b', created: true },
  GET_MACHINE: { definition: DEF, checksum: 'e26b', machine: 'order', version: 1 },
  LIST_MACHINES: { items: [{ machine: 'order', versions: [1, 2] }] },
  CREATE_INSTANCE: { instance_id: 'order-001', state: 'pending', wal_offset: 12 },
  GET_INSTANCE: { machine: 'order', version: 1, state: 'paid', ctx: CTX, last_event_id: 'evt-1', last_wal_offset: 14, instance_id: 'o-1', created_at: 1736937000000, updated_at: 1736937000001 },
  LIST_INSTANCES: { instances: [{ id: 'o-1', machine: 'order', version: 1, state: 'pending', created_at: 1, updated_at: 2, last_wal_offset: 3 }], total: 57, has_more: true, next_after: 'o-1' },
  DELETE_INSTANCE: { instance_id: 'o-1', deleted: true, wal_offset: 20 },
  APPLY_EVENT: { from_state: 'pending', to_state: 'paid', ctx: CTX, wal_offset: 15, applied: true, event_id: 'evt-1', dry_run: true },
  BATCH: { results: [{ status: 'ok', result: { instance_id: 'a', state: 's', wal_offset: 1 }, error: null }, { status: 'error', result: null, error: { code: 'INSTANCE_NOT_FOUND', message: 'instance not found: x', retryable: false, details: { instance_id: 'x' } } }] },
  WATCH_INSTANCE: { subscription_id: 'sub-1', instance_id: 'o-1', current_state: 'paid', current_wal_offset: 15 },
  WATCH_ALL: { subscription_id: 'sub-2', wal_offset: 42 },
  UNWATCH: { subscription_id: 'sub-2', removed: false },
  SNAPSHOT_INSTANCE: { instance_id: 'o-1', snapshot_id: 'snap-8d1e', wal_offset: 15, size_bytes: 512, checksum: 'abc' },
  WAL_READ: { records: [{ sequence: 7, offset: 7, entry: { type: 'apply_event', instance_id: 'o-1', ctx: CTX, payload: null, ts: 1 } }], next_offset: 8, earliest_offset: 1, head_offset: 9 },
  WAL_STATS: { entry_count: 120, segment_count: 2, total_size_bytes: 73400320, latest_offset: null, io_stats: { bytes_written: 1, bytes_read: 0, writes: 130, reads: 1, fsyncs: 97 }, earliest_offset: 1, fsync_policy: 'every_write' },
  COMPACT: { snapshots_created: 5, segments_deleted: 2, bytes_reclaimed: 134217728, total_snapshots: 40, wal_segments: 1 },
  VALIDATE_MACHINE: { valid: true, checksum: 'e26b', normalized: DEF },
  GET_DIAGRAM: { format: 'mermaid', content: 'stateDiagram-v2\n', machine: 'order', version: 1, checksum: 'e26b' },
  GET_HISTORY: {
    instance_id: 'o-1',
    items: [
      { wal_offset: 12, type: 'CREATE_INSTANCE', at: '2025-01-15T10:30:00.123Z', machine: 'order', version: 1, state: 'pending', ctx: CTX },
      { wal_offset: 15, type: 'APPLY_EVENT', at: '2025-01-15T10:30:01.000Z', event: 'PAY', from_state: 'pending', to_state: 'paid', payload: { amount: 5 }, event_id: 'evt-1' },
      { wal_offset: 16, type: 'APPLY_EVENT', event: 'NOTE', from_state: 'paid', to_state: 'paid', payload: null },
      { wal_offset: 20, type: 'DELETE_INSTANCE', at: '2025-01-15T10:31:00.000Z' },
    ],
    next_offset: null,
    earliest_offset: 12,
    complete: true,
  },
  GET_TRANSITIONS: {
    instance_id: 'o-1',
    state: 'pending',
    wal_offset: 14,
    transitions: [
      { event: 'PAY', to: 'paid', guard: 'ctx.a > 0', guard_passes: false, meta: { ui: 'red' }, taken: false },
      { event: 'PAY', to: 'free', guard_passes: null, taken: true },
    ],
  },
}

const VALID_PARAMS: Partial<Record<OpName, Record<string, unknown>>> = {
  HELLO: { protocol_version: 1 },
  AUTH: { method: 'bearer', token: 'x' },
  PUT_MACHINE: { machine: 'm', version: 1, definition: DEF },
  GET_MACHINE: { machine: 'm' },
  CREATE_INSTANCE: { machine: 'm', version: 1, initial_ctx: null },
  GET_INSTANCE: { instance_id: 'i' },
  DELETE_INSTANCE: { instance_id: 'i' },
  APPLY_EVENT: { instance_id: 'i', event: 'E', payload: { a: 1 } },
  BATCH: { ops: [{ op: 'APPLY_EVENT', params: { instance_id: 'i', event: 'E' } }] },
  WATCH_INSTANCE: { instance_id: 'i' },
  UNWATCH: { subscription_id: 's' },
  SNAPSHOT_INSTANCE: { instance_id: 'i' },
  WAL_READ: { from_offset: 1 },
  VALIDATE_MACHINE: { definition: DEF },
  GET_DIAGRAM: { machine: 'm', format: 'dot', highlight: 'a' },
  GET_HISTORY: { instance_id: 'i', from_offset: 5, limit: 10, reverse: true },
  GET_TRANSITIONS: { instance_id: 'i' },
}

const MESSAGES: Array<[string, TSchema, unknown]> = [
  ['request', RequestEnvelope, { type: 'request', id: '1', op: 'PING', params: null, trace_id: 't' }],
  ['response ok', ResponseOk, { type: 'response', id: '7', status: 'ok', result: { pong: true }, meta: { server_time: '2025-01-15T10:30:00.123Z', leader: true, wal_offset: 42 } }],
  ['response error', ResponseError, { type: 'response', id: '', status: 'error', error: { code: 'BAD_REQUEST', message: 'm', retryable: false }, meta: { server_time: '2025-01-15T10:30:00.123Z', leader: true, wal_offset: 0, trace_id: 't' } }],
  ['event', EventMessage, { type: 'event', subscription_id: 'sub-1', instance_id: 'o-1', machine: 'order', version: 1, wal_offset: 15, from_state: 'pending', to_state: 'paid', event: 'PAY', payload: { amount: 99.99 }, ctx: CTX }],
  ['event without ctx', EventMessage, { type: 'event', subscription_id: 'sub-1', instance_id: 'o-1', machine: 'order', version: 1, wal_offset: 15, from_state: 'pending', to_state: 'paid', event: 'PAY', payload: null }],
  ['subscription_end', SubscriptionEnd, { type: 'subscription_end', subscription_id: 'sub-1', reason: 'overflow', last_wal_offset: 15, resume_from_offset: 16 }],
  ['error body', ErrorBody, { code: 'CONFLICT', message: 'm', retryable: false, details: { expected_state: 'a' } }],
]

/** Every node of a schema tree, to check the `examples` that sit on it. */
function * nodes (schema: unknown): Generator<Record<string, unknown>> {
  if (typeof schema !== 'object' || schema === null) return
  if (Array.isArray(schema)) {
    for (const s of schema) yield * nodes(s)
    return
  }
  const node = schema as Record<string, unknown>
  yield node
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'examples' && key !== 'default') yield * nodes(value)
  }
}

t.test('result and message samples match their schemas', async (t) => {
  for (const op of OP_NAMES) t.ok(Value.Check(OPS[op].result, RESULTS[op]), `${op} result: ${[...Value.Errors(OPS[op].result, RESULTS[op])].map((e) => e.path + ' ' + e.message).join('; ')}`)
  for (const [name, schema, sample] of MESSAGES) t.ok(Value.Check(schema, sample), name)
  t.notOk(Value.Check(ErrorBody, { code: 'TEAPOT', message: 'm', retryable: false }), 'only the 16 codes')
})

t.test('schemas are plain JSON Schema: no $id, examples valid', async (t) => {
  const all: Array<[string, TSchema]> = [
    ...OP_NAMES.flatMap((op): Array<[string, TSchema]> => [[`${op} params`, OPS[op].params], [`${op} result`, OPS[op].result]]),
    ...MESSAGES.map(([name, schema]): [string, TSchema] => [name, schema]),
  ]
  for (const [name, schema] of all) {
    const json = JSON.parse(JSON.stringify(schema))
    t.notOk(JSON.stringify(json).includes('"$id"'), `${name}: no $id`)
    for (const node of nodes(schema)) {
      if (!Array.isArray(node.examples)) continue
      for (const example of node.examples) t.ok(Value.Check(node as TSchema, example), `${name}: example ${JSON.stringify(example).slice(0, 60)}`)
    }
  }
})

t.test('Fastify (strict Ajv + fast-json-stringify) accepts every schema', async (t) => {
  // bodies are never coerced (http.md), so the gateway runs Ajv without coerceTypes
  const app = Fastify({ ajv: { customOptions: { strict: true, coerceTypes: false } } })
  for (const op of OP_NAMES) {
    app.post(`/${op}`, { schema: { body: OPS[op].params, response: { 200: OPS[op].result } } }, async () => RESULTS[op])
  }
  app.post('/messages', { schema: { body: RequestEnvelope, response: { 200: ResponseOk, 400: ResponseError } } }, async () => MESSAGES[1][2])
  await app.ready()
  t.teardown(() => app.close())

  for (const op of OP_NAMES) {
    const res = await app.inject({ method: 'POST', url: `/${op}`, payload: VALID_PARAMS[op] ?? {} })
    t.equal(res.statusCode, 200, `${op}: ${res.body.slice(0, 200)}`)
    t.same(res.json(), RESULTS[op], `${op}: the result serializes whole`)
  }
  const bad = await app.inject({ method: 'POST', url: '/PUT_MACHINE', payload: { machine: 'm', version: '1', definition: DEF } })
  t.equal(bad.statusCode, 400, 'Ajv applies the same rules')
  const envelope = await app.inject({ method: 'POST', url: '/messages', payload: MESSAGES[0][2] as object })
  t.same(envelope.json(), MESSAGES[1][2])
})
