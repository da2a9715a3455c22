import t from 'tap'
import { ORDER_MACHINE, call, isProblem, putOrderMachine, startGateway, stopGateway } from './helpers.js'

// debug: the per-request log line is checked below
const server = await startGateway({ env: { RSTMDB_LOG_LEVEL: 'debug' } })
t.teardown(() => stopGateway(server))
const { base } = server

t.test('machines: put, get, list, latest, validate', async t => {
  const put = await call(base, 'PUT', '/v1/machines/order/versions/1', { json: ORDER_MACHINE })
  t.equal(put.status, 201)
  t.match(put.body, { machine: 'order', version: 1, created: true, stored_checksum: /^[0-9a-f]{64}$/ })
  t.equal(put.headers.get('x-wal-offset'), '1')
  const again = await call(base, 'PUT', '/v1/machines/order/versions/1', { json: ORDER_MACHINE })
  t.equal(again.status, 200)
  t.equal(again.body.created, false)
  const differs = await call(base, 'PUT', '/v1/machines/order/versions/1', { json: { ...ORDER_MACHINE, initial: 'paid' } })
  t.equal(differs.status, 409)
  t.ok(isProblem(differs.body, 409, 'MACHINE_VERSION_EXISTS'))
  const badSum = await call(base, 'PUT', '/v1/machines/order/versions/2?checksum=abc', { json: ORDER_MACHINE })
  t.equal(badSum.status, 400)
  t.match(badSum.body.details, { expected: 'abc' })
  const invalid = await call(base, 'PUT', '/v1/machines/bad/versions/1', { json: { states: [], initial: 'x', transitions: [{ from: 'y', event: '', to: 'z' }] } })
  t.equal(invalid.status, 400)
  t.ok(invalid.body.details.errors.length > 1, 'every problem listed')

  const get = await call(base, 'GET', '/v1/machines/order/versions/1')
  t.equal(get.status, 200)
  t.equal(get.headers.get('etag'), `"${String(put.body.stored_checksum)}"`)
  t.same(get.body.definition.transitions[0].from, ['created'])
  const latest = await call(base, 'GET', '/v1/machines/order/versions/latest')
  t.equal(latest.body.version, 1)
  t.equal((await call(base, 'GET', '/v1/machines/order/versions/7')).status, 404)
  t.equal((await call(base, 'GET', '/v1/machines/order/versions/abc')).status, 400)

  const list = await call(base, 'GET', '/v1/machines')
  t.same(list.body, { items: [{ machine: 'order', versions: [1] }] })
  const one = await call(base, 'GET', '/v1/machines/order')
  t.same(one.body, { machine: 'order', versions: [1], latest: 1 })
  const missing = await call(base, 'GET', '/v1/machines/nope')
  t.equal(missing.status, 404)
  t.ok(isProblem(missing.body, 404, 'MACHINE_NOT_FOUND'))
  t.same(missing.body.details, { machine: 'nope' })

  const valid = await call(base, 'POST', '/v1/machines/validate', { json: ORDER_MACHINE })
  t.equal(valid.status, 200)
  t.equal(valid.body.valid, true)
  const notValid = await call(base, 'POST', '/v1/machines/validate', { json: { states: ['a'], initial: 'b', transitions: [] } })
  t.equal(notValid.status, 400)
  t.ok(Array.isArray(notValid.body.details.errors))
})

t.test('instances: create, replay, get, list, snapshot, delete', async t => {
  await putOrderMachine(base)
  const created = await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { n: 1 } }, headers: { 'idempotency-key': 'k1' } })
  t.equal(created.status, 201)
  t.equal(created.headers.get('location'), '/v1/instances/o-1')
  t.match(created.body, { instance_id: 'o-1', state: 'created' })
  const replay = await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: 'o-1', initial_ctx: { n: 1 } }, headers: { 'idempotency-key': 'k1' } })
  t.equal(replay.status, 200, 'idempotent replay is 200')
  t.same(replay.body, created.body)
  t.equal(replay.headers.get('location'), '/v1/instances/o-1')
  const exists = await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: 'o-1' } })
  t.equal(exists.status, 409)
  t.ok(isProblem(exists.body, 409, 'INSTANCE_EXISTS'))
  const noMachine = await call(base, 'POST', '/v1/instances', { json: { machine: 'zzz', version: 1 } })
  t.equal(noMachine.status, 404)
  const generated = await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1 } })
  t.equal(generated.status, 201)
  t.match(generated.body.instance_id, /^[0-9a-f-]{36}$/)
  const mismatch = await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, idempotency_key: 'a' }, headers: { 'idempotency-key': 'b' } })
  t.equal(mismatch.status, 400)

  const odd = 'a/b ..é?#'
  const oddCreated = await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: odd } })
  t.equal(oddCreated.headers.get('location'), `/v1/instances/${encodeURIComponent(odd)}`)
  const oddGet = await call(base, 'GET', `/v1/instances/${encodeURIComponent(odd)}`)
  t.equal(oddGet.status, 200)
  t.equal(oddGet.body.instance_id, odd, 'ids with / .. and unicode round-trip')

  const get = await call(base, 'GET', '/v1/instances/o-1')
  t.equal(get.status, 200)
  t.equal(get.headers.get('etag'), `"${String(get.body.last_wal_offset)}"`)
  t.same(get.body.ctx, { n: 1 })
  t.equal((await call(base, 'GET', '/v1/instances/none')).status, 404)
  const etag = get.headers.get('etag') as string
  for (const tag of [etag, `W/${etag}`, `"999", ${etag}`, '*']) {
    const cached = await call(base, 'GET', '/v1/instances/o-1', { headers: { 'if-none-match': tag } })
    t.equal(cached.status, 304, `If-None-Match: ${tag}`)
    t.equal(cached.text, '')
    t.equal(cached.headers.get('etag'), etag)
  }
  t.equal((await call(base, 'GET', '/v1/instances/o-1', { headers: { 'if-none-match': '"999"' } })).status, 200, 'a stale tag gets the body')
  const machineTag = (await call(base, 'GET', '/v1/machines/order/versions/latest')).headers.get('etag') as string
  t.equal((await call(base, 'GET', '/v1/machines/order/versions/1', { headers: { 'if-none-match': machineTag } })).status, 304)
  t.equal((await call(base, 'GET', '/v1/machines/order/versions/1', { headers: { 'if-none-match': '"other"' } })).status, 200)

  const page = await call(base, 'GET', '/v1/instances?machine=order&limit=1')
  t.equal(page.status, 200)
  t.equal(page.body.instances.length, 1)
  t.equal(page.body.total, 3)
  t.equal(page.body.has_more, true)
  const after = await call(base, 'GET', `/v1/instances?after=${encodeURIComponent(page.body.instances[0].id)}&limit=10`)
  t.equal(after.body.instances.length, 2)
  t.equal((await call(base, 'GET', '/v1/instances?limit=-1')).status, 400)
  t.equal((await call(base, 'GET', '/v1/instances?offset=x')).status, 400)

  const snap = await call(base, 'POST', '/v1/instances/o-1/snapshot')
  t.equal(snap.status, 200, 'empty body without content type')
  t.match(snap.body, { instance_id: 'o-1', snapshot_id: String })
  const snapJson = await call(base, 'POST', '/v1/instances/o-1/snapshot', { raw: '', headers: { 'content-type': 'application/json' } })
  t.equal(snapJson.status, 200, 'empty body with content type')
  t.equal((await call(base, 'POST', '/v1/instances/none/snapshot')).status, 404)

  const del = await call(base, 'DELETE', '/v1/instances/o-1', { headers: { 'idempotency-key': 'd1' } })
  t.equal(del.status, 200)
  t.match(del.body, { instance_id: 'o-1', deleted: true })
  const delAgain = await call(base, 'DELETE', '/v1/instances/o-1')
  t.equal(delAgain.status, 200)
  t.equal(delAgain.body.wal_offset, del.body.wal_offset)
  t.equal((await call(base, 'GET', '/v1/instances/o-1')).status, 404)
  t.equal((await call(base, 'DELETE', '/v1/instances/never')).status, 404)
})

t.test('events: apply, replay, guard, invalid transition, conflicts, If-Match', async t => {
  await putOrderMachine(base)
  await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: 'e-1', initial_ctx: { blocked: true } } })
  const inst = await call(base, 'GET', '/v1/instances/e-1')
  const etag = inst.headers.get('etag') as string

  const stale = await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'PAY' }, headers: { 'if-match': '"1"' } })
  t.equal(stale.status, 412)
  t.ok(isProblem(stale.body, 412, 'CONFLICT'))
  const bodyConflict = await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'PAY', expected_wal_offset: 1 } })
  t.equal(bodyConflict.status, 409, 'a body expectation is a plain 409')
  const stateConflict = await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'PAY', expected_state: 'paid' } })
  t.equal(stateConflict.status, 409)
  for (const bad of ['*', 'W/"3"', '"3", "4"', '3']) {
    const res = await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'PAY' }, headers: { 'if-match': bad } })
    t.equal(res.status, 400, `If-Match ${bad}`)
  }
  const differ = await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'PAY', expected_wal_offset: 99 }, headers: { 'if-match': etag } })
  t.equal(differ.status, 400, 'header and body differ')

  const paid = await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'PAY', payload: { amount: 5 }, event_id: 'ev1' }, headers: { 'if-match': etag, 'idempotency-key': 'pay-1', 'x-trace-id': 'trace-42' } })
  t.equal(paid.status, 200)
  t.match(paid.body, { from_state: 'created', to_state: 'paid', applied: true, event_id: 'ev1', ctx: { blocked: true, amount: 5 } })
  t.equal(paid.headers.get('x-wal-offset'), String(paid.body.wal_offset))
  t.equal(paid.headers.get('x-trace-id'), 'trace-42')
  const replay = await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'PAY', payload: { amount: 5 }, event_id: 'ev1' }, headers: { 'if-match': etag, 'idempotency-key': 'pay-1', 'x-trace-id': 'trace-42' } })
  t.equal(replay.status, 200)
  t.equal(replay.body.applied, false)
  t.equal(replay.body.wal_offset, paid.body.wal_offset)

  const guard = await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'SHIP' } })
  t.equal(guard.status, 422)
  t.ok(isProblem(guard.body, 422, 'GUARD_FAILED'))
  t.same(guard.body.details.guards, ['ctx.blocked != true'])
  const invalid = await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'DELIVER' } })
  t.equal(invalid.status, 422)
  t.ok(isProblem(invalid.body, 422, 'INVALID_TRANSITION'))
  t.equal((await call(base, 'POST', '/v1/instances/none/events', { json: { event: 'PAY' } })).status, 404)
  const coerced = await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'CANCEL', expected_wal_offset: String(paid.body.wal_offset) } })
  t.equal(coerced.status, 400, 'body types are never coerced')
  t.equal(coerced.body.details.field, 'expected_wal_offset')
  const payload = await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'CANCEL', payload: [1] } })
  t.equal(payload.status, 400)
  t.equal((await call(base, 'GET', '/v1/instances/e-1', { headers: { 'if-match': '"1"' } })).status, 400, 'If-Match elsewhere is 400')
})

t.test('batch: best_effort, atomic, structure errors', async t => {
  await putOrderMachine(base)
  const best = await call(base, 'POST', '/v1/batch', {
    json: {
      ops: [
        { op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'b-1' } },
        { op: 'APPLY_EVENT', params: { instance_id: 'missing', event: 'PAY' } },
        { op: 'APPLY_EVENT', params: { instance_id: 'b-1', event: 'PAY' } },
      ],
    },
  })
  t.equal(best.status, 200)
  t.same(best.body.results.map((r: any) => r.status), ['ok', 'error', 'ok'])
  t.equal(best.body.results[1].error.code, 'INSTANCE_NOT_FOUND')
  const atomic = await call(base, 'POST', '/v1/batch', {
    json: {
      mode: 'atomic',
      ops: [
        { op: 'CREATE_INSTANCE', params: { machine: 'order', version: 1, instance_id: 'b-2' } },
        { op: 'APPLY_EVENT', params: { instance_id: 'b-2', event: 'DELIVER' } },
      ],
    },
  })
  t.equal(atomic.status, 422)
  t.ok(isProblem(atomic.body, 422, 'INVALID_TRANSITION'))
  t.match(atomic.body.details, { batch_index: 1, batch_op: 'APPLY_EVENT' })
  t.equal((await call(base, 'GET', '/v1/instances/b-2')).status, 404, 'nothing written')
  const structure = await call(base, 'POST', '/v1/batch', { json: { ops: [{ op: 'PUT_MACHINE', params: {} }] } })
  t.equal(structure.status, 400)
  t.equal(structure.body.details.batch_index, 0)
})

t.test('wal, stats, compact, info, health', async t => {
  const wal = await call(base, 'GET', '/v1/wal?from_offset=1&limit=2')
  t.equal(wal.status, 200)
  t.equal(wal.body.records.length, 2)
  t.equal(wal.body.next_offset, 3)
  t.equal((await call(base, 'GET', '/v1/wal')).status, 400, 'from_offset is required')
  t.equal((await call(base, 'GET', '/v1/wal?from_offset=1&limit=0')).status, 400)
  const stats = await call(base, 'GET', '/v1/wal/stats')
  t.equal(stats.status, 200)
  t.match(stats.body, { fsync_policy: 'every_write', io_stats: { fsyncs: Number } })
  const compact = await call(base, 'POST', '/v1/compact')
  t.equal(compact.status, 200)
  t.match(compact.body, { snapshots_created: Number })
  const forced = await call(base, 'POST', '/v1/compact', { json: { force_snapshot: true } })
  t.equal(forced.status, 200)
  t.equal((await call(base, 'POST', '/v1/compact', { json: { force_snapshot: 'yes' } })).status, 400)
  const info = await call(base, 'GET', '/v1/info')
  t.match(info.body, { server_name: 'rstmdb', protocol_version: 1 })
  t.ok(info.body.connections >= 1)
  t.same((await call(base, 'GET', '/healthz')).body, { status: 'ok' })
  t.same((await call(base, 'GET', '/readyz')).body, { status: 'ok' })
})

t.test('every response carries X-Request-Id and X-Wal-Offset', async t => {
  const own = await call(base, 'GET', '/v1/info', { headers: { 'x-request-id': 'req-123' } })
  t.equal(own.headers.get('x-request-id'), 'req-123')
  const generated = await call(base, 'GET', '/nowhere')
  t.match(generated.headers.get('x-request-id'), /^[0-9a-f-]{36}$/)
  t.match(generated.headers.get('x-wal-offset'), /^\d+$/)
  // the log line travels through the server's stdout pipe, so it may trail the response a little
  let logged = server.logs.find(l => l.request_id === 'req-123')
  for (let i = 0; i < 50 && logged === undefined; i++) {
    await new Promise(resolve => setTimeout(resolve, 50))
    logged = server.logs.find(l => l.request_id === 'req-123')
  }
  t.ok(logged, 'the request id is the id in the log')
})
