import t, { type Test } from 'tap'
import { RcpError } from 'rstmdb'
import { clientFor, loose, rejected } from '../support/client.js'
import { rawClientFor } from '../support/raw-client.js'
import { ORDER } from '../support/machines.js'
import { call, isProblem, startGateway, stopGateway } from '../http/helpers.js'
import { allPages, offsetsOf, type HistoryResult } from './helpers.js'

/**
 * GET_HISTORY and GET_INSTANCE at_offset on both faces of one real server: REST answers
 * what RCP answers, results and errors alike; every bad input is refused with its field
 * and changes nothing; the limit is clamped; the ETag of a past state.
 */

const server = await startGateway()
t.teardown(() => stopGateway(server))
const { base } = server
const client = await clientFor(t, server)
const rcp = loose(client)

await client.putMachine({ machine: 'order', version: 1, definition: ORDER })
const created = await client.createInstance({ machine: 'order', version: 1, instance_id: 'h-1', initial_ctx: { amount: 5 } })
const events: number[] = []
for (const event of ['PAY', 'SHIP', 'NOTE', 'PAY', 'CANCEL']) events.push((await client.applyEvent({ instance_id: 'h-1', event, event_id: `evt-${event}` })).wal_offset)
await client.createInstance({ machine: 'order', version: 1, instance_id: 'h-del' })
await client.applyEvent({ instance_id: 'h-del', event: 'NOTE', payload: { last: true } })
await client.deleteInstance({ instance_id: 'h-del' })
const HEAD = (await client.info()).wal_offset

/** The REST query string of RCP params (undefined left out). */
function query (params: Record<string, unknown>): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
  return entries.length === 0 ? '' : `?${entries.join('&')}`
}

/** RCP and REST for one request: results must be equal, or both the same error with the status of its code. */
async function both (t: Test, op: 'GET_HISTORY' | 'GET_INSTANCE', params: Record<string, unknown>, path: string): Promise<{ result?: any, code?: string, details?: any, status: number }> {
  const { instance_id: id, ...rest } = params
  const rest_ = await call(base, 'GET', `/v1/instances/${encodeURIComponent(String(id))}${path}${query(rest)}`)
  const viaRcp: { result?: any, code?: string, details?: any } = await rcp.request(op, params).then(result => ({ result }), (err: unknown) => {
    if (!(err instanceof RcpError)) throw err
    return { code: err.code, details: err.details }
  })
  const label = `${op} ${JSON.stringify(params)}`
  if (viaRcp.result !== undefined) {
    t.equal(rest_.status, 200, `${label}: 200 on REST`)
    t.same(rest_.body, viaRcp.result, `${label}: REST answers what RCP answers`)
  } else {
    t.same({ code: rest_.body.code, details: rest_.body.details }, viaRcp, `${label}: the same error on REST`)
  }
  return { ...viaRcp, status: rest_.status }
}

t.test('INFO and HELLO list the history feature', async t => {
  t.ok((await client.info()).features.includes('history'))
  t.ok((await call(base, 'GET', '/v1/info')).body.features.includes('history'))
  const raw = await rawClientFor(t, server, { hello: false })
  const hello = await raw.request('HELLO', { protocol_version: 1, features: ['history', 'nope'] })
  t.same(hello.result.features, ['history'])
})

t.test('the same pages on both faces, every direction and cursor', async t => {
  for (const params of [
    {}, { limit: 2 }, { reverse: true }, { reverse: true, limit: 2 }, { from_offset: events[1] }, { from_offset: events[1] + 0, reverse: true, limit: 3 }, { from_offset: 0 }, { from_offset: HEAD, reverse: true },
  ]) {
    await both(t, 'GET_HISTORY', { instance_id: 'h-1', ...params }, '/history')
  }
  const full = await rcp.request('GET_HISTORY', { instance_id: 'h-1' }) as HistoryResult
  t.same(full.items.map(i => i.wal_offset), [created.wal_offset, ...events])
  t.same(full.items.map(i => i.type === 'APPLY_EVENT' ? `${i.event} ${i.from_state}→${i.to_state} ${i.event_id}` : i.type),
    ['CREATE_INSTANCE', 'PAY pending→paid evt-PAY', 'SHIP paid→shipped evt-SHIP', 'NOTE shipped→pending evt-NOTE', 'PAY pending→paid evt-PAY', 'CANCEL paid→cancelled evt-CANCEL'])
  t.same(full.items[0], { wal_offset: created.wal_offset, type: 'CREATE_INSTANCE', at: full.items[0].at, machine: 'order', version: 1, state: 'pending', ctx: { amount: 5 } })
  t.match(full.items[0].at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'at is ISO 8601')
  t.same({ next: full.next_offset, earliest: full.earliest_offset, complete: full.complete }, { next: null, earliest: created.wal_offset, complete: true })

  const restPages = async (params: { instance_id: string, limit?: number, reverse?: boolean, from_offset?: number }): Promise<HistoryResult> =>
    (await call(base, 'GET', `/v1/instances/${params.instance_id}/history${query({ limit: params.limit, reverse: params.reverse, from_offset: params.from_offset })}`)).body
  t.same(offsetsOf(await allPages(restPages, 'h-1', { limit: 2, reverse: true })), [created.wal_offset, ...events].reverse(), 'REST pages follow next_offset too')
  const deleted = await both(t, 'GET_HISTORY', { instance_id: 'h-del', reverse: true, limit: 1 }, '/history')
  t.equal(deleted.result.items[0].type, 'DELETE_INSTANCE', 'a deleted instance: the tombstone first, newest first')
})

t.test('the state at an offset on both faces; the ETag names that state', async t => {
  for (const at of [created.wal_offset, events[0], events[2], events[2] + 1, HEAD]) await both(t, 'GET_INSTANCE', { instance_id: 'h-1', at_offset: at }, '')
  const paid = await call(base, 'GET', `/v1/instances/h-1?at_offset=${events[0]}`)
  t.match(paid.body, { state: 'paid', ctx: { amount: 5 }, last_event_id: 'evt-PAY', last_wal_offset: events[0] })
  const now = await call(base, 'GET', '/v1/instances/h-1')
  t.equal(paid.headers.get('etag'), `"${events[0]}"`, 'the ETag of a past state is its own last_wal_offset')
  t.not(paid.headers.get('etag'), now.headers.get('etag'), 'not the current ETag: the instance changed since')
  const again = await call(base, 'GET', `/v1/instances/h-1?at_offset=${events[0]}`, { headers: { 'if-none-match': paid.headers.get('etag') as string } })
  t.equal(again.status, 304, 'a past state never changes: its ETag revalidates')
  const current = await call(base, 'GET', `/v1/instances/h-1?at_offset=${events[1]}`, { headers: { 'if-none-match': now.headers.get('etag') as string } })
  t.equal(current.status, 200, 'the current ETag does not match an older state')
  const latest = await call(base, 'GET', `/v1/instances/h-1?at_offset=${HEAD}`, { headers: { 'if-none-match': now.headers.get('etag') as string } })
  t.equal(latest.status, 304, 'at the head the state is the current one, and so is its ETag')

  const gone = await both(t, 'GET_INSTANCE', { instance_id: 'h-del', at_offset: HEAD }, '')
  t.same({ status: gone.status, code: gone.code }, { status: 404, code: 'INSTANCE_NOT_FOUND' }, 'deleted by then')
  const before = await both(t, 'GET_INSTANCE', { instance_id: 'h-del', at_offset: events[4] }, '')
  t.same({ status: before.status, code: before.code }, { status: 404, code: 'INSTANCE_NOT_FOUND' }, 'not created yet')
  const alive = await both(t, 'GET_INSTANCE', { instance_id: 'h-del', at_offset: HEAD - 1 }, '')
  t.match(alive.result, { state: 'pending', ctx: { last: true } }, 'a deleted instance as it was before its deletion')
})

t.test('bad input: a precise error with its field, on both faces, and nothing written', async t => {
  const cases: Array<[string, 'GET_HISTORY' | 'GET_INSTANCE', Record<string, unknown>, number, string, Record<string, unknown>]> = [
    ['unknown instance', 'GET_HISTORY', { instance_id: 'ghost' }, 404, 'INSTANCE_NOT_FOUND', { instance_id: 'ghost' }],
    ['unknown instance at an offset', 'GET_INSTANCE', { instance_id: 'ghost', at_offset: 1 }, 404, 'INSTANCE_NOT_FOUND', { instance_id: 'ghost' }],
    ['from_offset above the head', 'GET_HISTORY', { instance_id: 'h-1', from_offset: HEAD + 1 }, 400, 'BAD_REQUEST', { field: 'from_offset', reason: 'above_head', head_offset: HEAD }],
    ['reverse with a cursor past the end', 'GET_HISTORY', { instance_id: 'h-1', from_offset: HEAD + 100, reverse: true }, 400, 'BAD_REQUEST', { field: 'from_offset', reason: 'above_head', head_offset: HEAD }],
    ['at_offset above the head', 'GET_INSTANCE', { instance_id: 'h-1', at_offset: HEAD + 1 }, 400, 'BAD_REQUEST', { field: 'at_offset', reason: 'above_head', head_offset: HEAD }],
    ['negative from_offset', 'GET_HISTORY', { instance_id: 'h-1', from_offset: -1 }, 400, 'BAD_REQUEST', { field: 'from_offset' }],
    ['negative at_offset', 'GET_INSTANCE', { instance_id: 'h-1', at_offset: -3 }, 400, 'BAD_REQUEST', { field: 'at_offset' }],
    ['non-integer from_offset', 'GET_HISTORY', { instance_id: 'h-1', from_offset: 1.5 }, 400, 'BAD_REQUEST', { field: 'from_offset' }],
    ['non-integer at_offset', 'GET_INSTANCE', { instance_id: 'h-1', at_offset: 2.5 }, 400, 'BAD_REQUEST', { field: 'at_offset' }],
    ['limit 0', 'GET_HISTORY', { instance_id: 'h-1', limit: 0 }, 400, 'BAD_REQUEST', { field: 'limit' }],
    ['negative limit', 'GET_HISTORY', { instance_id: 'h-1', limit: -5 }, 400, 'BAD_REQUEST', { field: 'limit' }],
    ['non-integer limit', 'GET_HISTORY', { instance_id: 'h-1', limit: 2.5 }, 400, 'BAD_REQUEST', { field: 'limit' }],
  ]
  for (const [name, op, params, status, code, details] of cases) {
    const got = await both(t, op, params, op === 'GET_HISTORY' ? '/history' : '')
    t.same({ status: got.status, code: got.code, details: got.details }, { status, code, details }, name)
  }

  // what only a query string can get wrong
  for (const [q, field] of [['from_offset=abc', 'from_offset'], ['limit=1e3', 'limit'], ['reverse=maybe', 'reverse'], ['limit=', 'limit']]) {
    const res = await call(base, 'GET', `/v1/instances/h-1/history?${q}`)
    t.ok(isProblem(res.body, 400, 'BAD_REQUEST'), `?${q}: 400`)
    t.equal(res.body.details?.field, field, `?${q}: names ${field}`)
  }
  const at = await call(base, 'GET', '/v1/instances/h-1?at_offset=x')
  t.same({ status: at.status, field: at.body.details?.field }, { status: 400, field: 'at_offset' })
  for (const [params, field] of [[{ reverse: 'true' }, 'reverse'], [{ from_offset: '3' }, 'from_offset'], [{ limit: '3' }, 'limit']] as const) {
    t.match(await rejected(rcp.request('GET_HISTORY', { instance_id: 'h-1', ...params })), { code: 'BAD_REQUEST', details: { field } }, `RCP ${field} of the wrong type`)
  }
  t.equal((await client.info()).wal_offset, HEAD, 'nothing was written')
})

t.test('limit: default 100, above 1000 clamped to 1000; the cursor carries on', async t => {
  await client.createInstance({ machine: 'order', version: 1, instance_id: 'h-long' })
  for (let i = 0; i < 11; i++) {
    await client.batch({ mode: 'atomic', ops: Array.from({ length: 100 }, (_, j) => ({ op: 'APPLY_EVENT' as const, params: { instance_id: 'h-long', event: 'NOTE', payload: { n: i * 100 + j } } })) })
  }
  const byDefault = await both(t, 'GET_HISTORY', { instance_id: 'h-long' }, '/history')
  t.equal(byDefault.result.items.length, 100)
  const clamped = await both(t, 'GET_HISTORY', { instance_id: 'h-long', limit: 5000 }, '/history')
  t.equal(clamped.result.items.length, 1000, 'clamped like LIST_INSTANCES and WAL_READ')
  const rest = await rcp.request('GET_HISTORY', { instance_id: 'h-long', from_offset: clamped.result.next_offset, limit: 1000 }) as HistoryResult
  t.equal(rest.items.length, 101, 'the creation and 1,100 events in all')
  t.equal(rest.next_offset, null)
})
