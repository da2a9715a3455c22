import t from 'tap'
import { OPS, MIN_OFFSET_OPS, OP_NAMES } from '../../protocol/schemas.js'
import { clientFor, rejected } from '../support/client.js'
import { call, ORDER_MACHINE, startGateway, stopGateway } from './helpers.js'

/**
 * Read-your-writes in single-node mode (cluster.md §4): every read takes `min_offset` (RCP) and
 * `X-Min-Wal-Offset` (REST). One node has applied every offset it acknowledged, so the wait is
 * met at once; an offset nothing has reached yet waits cluster.read_wait_ms, then is refused
 * with WAL_IO_ERROR replica_behind (REST: 503 with Retry-After).
 */

const server = await startGateway({ env: { RSTMDB_CLUSTER_READ_WAIT_MS: '150' } })
t.teardown(() => stopGateway(server))
const sdk = await clientFor(t, server)
await sdk.putMachine({ machine: 'order', version: 1, definition: ORDER_MACHINE })
const created = await sdk.createInstance({ machine: 'order', version: 1, instance_id: 'o-1' })

t.test('every read op takes min_offset; writes, session ops and ops the leader runs do not', async (t) => {
  const reads = OP_NAMES.filter((op) => !OPS[op].write && !['HELLO', 'AUTH', 'PING', 'BYE', 'WATCH_INSTANCE', 'WATCH_ALL', 'UNWATCH', 'COMPACT', 'SNAPSHOT_INSTANCE', 'VALIDATE_MACHINE'].includes(op))
  t.same([...MIN_OFFSET_OPS].sort(), reads.sort())
})

t.test('RCP: an offset this node has applied answers at once; one nobody reached is refused after the wait', async (t) => {
  t.match(await sdk.getInstance({ instance_id: 'o-1', min_offset: created.wal_offset }), { last_wal_offset: created.wal_offset })
  t.match(await sdk.info({ min_offset: 0 }), { wal_offset: created.wal_offset })
  const err = await rejected(sdk.listMachines({ min_offset: created.wal_offset + 100 }))
  t.match(err, { code: 'WAL_IO_ERROR', retryable: true, details: { reason: 'replica_behind', min_offset: created.wal_offset + 100, applied_offset: created.wal_offset } })
  t.match(await rejected(sdk.walStats({ min_offset: -1 })), { code: 'BAD_REQUEST', details: { field: 'min_offset' } })
})

t.test('RCP: a read that asks for a write still in flight answers once it commits', async (t) => {
  // its own server with a wait no commit on a loaded machine outlasts
  const patient = await startGateway({ env: { RSTMDB_CLUSTER_READ_WAIT_MS: '30000' } })
  t.teardown(() => stopGateway(patient))
  const c = await clientFor(t, patient)
  await c.putMachine({ machine: 'order', version: 1, definition: ORDER_MACHINE })
  const made = await c.createInstance({ machine: 'order', version: 1, instance_id: 'o-1' })
  const [write, read] = await Promise.all([
    c.applyEvent({ instance_id: 'o-1', event: 'PAY' }),
    c.getInstance({ instance_id: 'o-1', min_offset: made.wal_offset + 1 }),
  ])
  t.equal(read.last_wal_offset, write.wal_offset)
  t.equal(read.state, 'paid')
})

t.test('REST: X-Min-Wal-Offset on every read route; 503 replica_behind with Retry-After', async (t) => {
  const head = (await sdk.info()).wal_offset
  for (const path of ['/v1/info', '/v1/machines', '/v1/machines/order', '/v1/machines/order/versions/1', '/v1/machines/order/versions/1/diagram',
    '/v1/instances', '/v1/instances/o-1', '/v1/instances/o-1/history', '/v1/instances/o-1/transitions', '/v1/wal?from_offset=1', '/v1/wal/stats']) {
    const ok = await call(server.base, 'GET', path, { headers: { 'x-min-wal-offset': String(head) } })
    t.equal(ok.status, 200, `GET ${path} at the head`)
    const behind = await call(server.base, 'GET', path, { headers: { 'x-min-wal-offset': String(head + 1) } })
    t.equal(behind.status, 503, `GET ${path} past the head`)
    t.equal(behind.headers.get('retry-after'), '1')
    t.match(behind.body, { code: 'WAL_IO_ERROR', retryable: true, details: { reason: 'replica_behind', min_offset: head + 1, applied_offset: head } })
    t.equal(behind.headers.get('x-wal-offset'), String(head))
  }
  const bad = await call(server.base, 'GET', '/v1/instances/o-1', { headers: { 'x-min-wal-offset': 'soon' } })
  t.equal(bad.status, 400)
  t.match(bad.body, { code: 'BAD_REQUEST', details: { field: 'x-min-wal-offset' } })
  const document = (await call(server.base, 'GET', '/openapi.json')).body
  const parameters = document.paths['/v1/instances/{id}'].get.parameters as Array<{ in: string, name: string }>
  t.ok(parameters.some(p => p.in === 'header' && p.name === 'x-min-wal-offset'), 'documented as a header of the route')
})
