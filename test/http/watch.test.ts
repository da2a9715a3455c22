import t from 'tap'
import { Client } from 'rstmdb'
import { collect } from '../support/client.js'
import { activeSubscriptions, call, openWatch, putOrderMachine, refusedUpgrade, startGateway, stopGateway, subscriptionsAfterClose } from './helpers.js'

const server = await startGateway()
t.teardown(() => stopGateway(server))
const { base, wsBase } = server
await putOrderMachine(base)
await putOrderMachine(base, 'other')

async function create (id: string, machine = 'order'): Promise<void> {
  const res = await call(base, 'POST', '/v1/instances', { json: { machine, version: 1, instance_id: id } })
  if (res.status !== 201) throw new Error(res.text)
}
const apply = (id: string, event: string, payload?: object) => call(base, 'POST', `/v1/instances/${encodeURIComponent(id)}/events`, { json: { event, payload } })

t.test('query subscribe: WATCH_INSTANCE, the open response, events in the RCP shape', async t => {
  await create('w-1')
  const client = await openWatch(`${wsBase}/v1/watch?instance_id=w-1`)
  const open = await client.waitFor(m => m.id === 'open')
  t.match(open, { type: 'response', status: 'ok', result: { instance_id: 'w-1', current_state: 'created', subscription_id: String }, meta: { leader: true, wal_offset: Number, server_time: String } })
  const paid = await apply('w-1', 'PAY', { amount: 3 })
  const event = await client.waitFor(m => m.type === 'event')
  const wal = await call(base, 'GET', `/v1/wal?from_offset=${String(paid.body.wal_offset)}&limit=1`)
  t.same(event, {
    type: 'event',
    subscription_id: open.result.subscription_id,
    instance_id: 'w-1',
    machine: 'order',
    version: 1,
    wal_offset: paid.body.wal_offset,
    from_state: 'created',
    to_state: 'paid',
    event: 'PAY',
    payload: { amount: 3 },
    ctx: { amount: 3 },
    at: new Date(wal.body.records[0].entry.ts).toISOString(),
  })
  client.ws.close()
  await client.closed
})

t.test('query subscribe: WATCH_ALL with filters and include_ctx=false', async t => {
  await create('f-1')
  await create('f-2', 'other')
  const client = await openWatch(`${wsBase}/v1/watch?machines=other&events=PAY,CANCEL&include_ctx=false`)
  await client.waitFor(m => m.id === 'open' && m.status === 'ok')
  await apply('f-1', 'PAY')
  await apply('f-2', 'PAY')
  const event = await client.waitFor(m => m.type === 'event')
  t.equal(event.instance_id, 'f-2')
  t.notOk('ctx' in event)
  const ping = await client.request('PING')
  t.equal(client.events().length, 1, 'only the matching event')
  t.same(ping.result, { pong: true })
  client.ws.close()
})

t.test('a failed open subscribe answers its error, then closes with 4000 + its status and the code', async t => {
  const client = await openWatch(`${wsBase}/v1/watch?instance_id=nope`)
  const open = await client.waitFor(m => m.id === 'open')
  t.match(open, { status: 'error', error: { code: 'INSTANCE_NOT_FOUND', details: { instance_id: 'nope' } } })
  t.same(await client.closed, { code: 4404, reason: 'INSTANCE_NOT_FOUND: instance not found: nope' })
  const control = await openWatch(`${wsBase}/v1/watch?control=true`)
  t.equal((await control.request('WATCH_INSTANCE', { instance_id: 'nope' })).error.code, 'INSTANCE_NOT_FOUND')
  t.equal((await control.request('PING')).status, 'ok', 'a failed control request leaves the socket open')
  control.ws.close()
  const bad = await refusedUpgrade(`${wsBase}/v1/watch?from_offset=x`)
  t.equal(bad.status, 400, 'a bad query is refused before the upgrade')
  t.equal(bad.body.details.field, 'from_offset')
  const plain = await call(base, 'GET', '/v1/watch')
  t.equal(plain.status, 426, 'a plain GET is told to upgrade')
})

t.test('control messages: WATCH_INSTANCE, WATCH_ALL, UNWATCH, PING', async t => {
  await create('c-1')
  const client = await openWatch(`${wsBase}/v1/watch?control=true`)
  const watched = await client.request('WATCH_INSTANCE', { instance_id: 'c-1', include_ctx: false })
  t.match(watched, { type: 'response', status: 'ok', result: { instance_id: 'c-1' }, meta: { wal_offset: Number } })
  const all = await client.request('WATCH_ALL', { machines: ['order'] })
  t.equal(all.status, 'ok')
  await apply('c-1', 'PAY')
  await client.waitFor(m => m.type === 'event' && m.subscription_id === watched.result.subscription_id)
  await client.waitFor(m => m.type === 'event' && m.subscription_id === all.result.subscription_id)
  const un = await client.request('UNWATCH', { subscription_id: watched.result.subscription_id })
  t.same(un.result, { subscription_id: watched.result.subscription_id, removed: true })
  t.same((await client.request('UNWATCH', { subscription_id: 'sub-x' })).result.removed, false)
  await apply('c-1', 'SHIP')
  await client.waitFor(m => m.type === 'event' && m.event === 'SHIP')
  t.equal(client.events(watched.result.subscription_id).length, 1, 'no event after UNWATCH')
  t.equal(client.messages.filter(m => m.id === 'open').length, 0, 'control=true subscribes to nothing')
  client.ws.close()
  await client.closed
})

t.test('hostile messages: errors in the RCP envelope, the socket survives', async t => {
  const client = await openWatch(`${wsBase}/v1/watch?control=true`)
  client.ws.send('not json')
  const notJson = await client.waitFor(m => m.type === 'response' && m.error?.details?.reason === 'invalid_json')
  t.match(notJson, { id: '', status: 'error', error: { code: 'BAD_REQUEST' } })
  client.ws.send(Buffer.from([0, 1, 2]), { binary: true })
  await client.waitFor(m => m.error?.details?.reason === 'binary_message')
  client.ws.send('[1,2]')
  client.ws.send(JSON.stringify({ id: 'x1', op: 'APPLY_EVENT', params: {} }))
  t.match(await client.waitFor(m => m.id === 'x1'), { status: 'error', error: { code: 'BAD_REQUEST', details: { op: 'APPLY_EVENT' } } })
  client.ws.send(JSON.stringify({ id: 'x2', op: 'NOPE' }))
  t.equal((await client.waitFor(m => m.id === 'x2')).error.code, 'BAD_REQUEST')
  client.ws.send(JSON.stringify({ id: 'open', op: 'PING' }))
  client.ws.send(JSON.stringify({ id: 'x3', op: 'WATCH_ALL', params: { from_offset: -1 } }))
  t.equal((await client.waitFor(m => m.id === 'x3')).error.details.field, 'from_offset')
  t.equal((await client.request('PING')).status, 'ok', 'still open')
  t.equal(client.messages.filter(m => m.id === 'open').length, 0, 'the id "open" is reserved')
  // a frame header announcing more than 16 MiB: closed with 1009 without reading the payload
  const socket = (client.ws as unknown as { _socket: import('node:net').Socket })._socket
  const header = Buffer.from([0x81, 0xff, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x01, 1, 2, 3, 4])
  socket.write(header)
  const { code } = await client.closed
  t.equal(code, 1009)
  t.equal((await call(base, 'GET', '/readyz')).status, 200, 'the server is fine')
})

t.test('replay then live with concurrent REST and RCP writers: no gap, no duplicate', async t => {
  const ids = ['r-1', 'r-2', 'r-3']
  for (const id of ids) await create(id)
  const rcp = await Client.connect({ servers: [server.address], wireMode: 'jsonl' })
  const rcpWatch = rcp.watchAll({ machines: ['order'], events: ['CANCEL', 'PAY'], include_ctx: false })
  await rcpWatch.subscribed
  const rcpEvents = collect(rcpWatch)
  const before = await call(base, 'GET', '/v1/wal/stats')
  const fromOffset = before.body.latest_offset as number
  // some history to replay, then writers racing the subscribe
  for (const id of ids.slice(0, 2)) await apply(id, 'PAY')
  const writers = Promise.all([
    (async () => { for (let i = 0; i < 20; i++) await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1 } }).then(r => apply(r.body.instance_id, i % 2 === 0 ? 'PAY' : 'CANCEL')) })(),
    (async () => {
      for (let i = 0; i < 20; i++) {
        const c = await rcp.createInstance({ machine: 'order', version: 1 })
        await rcp.applyEvent({ instance_id: c.instance_id, event: 'PAY' })
      }
    })(),
  ])
  const client = await openWatch(`${wsBase}/v1/watch?machines=order&events=CANCEL,PAY&include_ctx=false&from_offset=${fromOffset}`)
  await writers
  await apply('r-3', 'CANCEL')
  const wal = await call(base, 'GET', `/v1/wal?from_offset=${fromOffset}&limit=1000`)
  const expected = wal.body.records
    .filter((r: any) => r.entry.type === 'apply_event' && r.entry.machine === 'order')
    .map((r: any) => r.sequence)
  const last = expected[expected.length - 1]
  await client.waitFor(m => m.type === 'event' && m.wal_offset === last)
  await rcpEvents.until(e => e.wal_offset === last)
  const got = client.events().map(e => e.wal_offset)
  t.same(got, expected, 'every event once, in order')
  t.equal(expected.length, 43)
  const rcpGot = rcpEvents.events.map(e => e.wal_offset)
  t.same(got.filter((o: number) => rcpGot.includes(o)), rcpGot, 'the RCP watcher saw the same offsets')
  client.ws.close()
  await rcp.close()
  await client.closed
})

t.test('closing the socket ends its subscriptions', async t => {
  const client = await openWatch(`${wsBase}/v1/watch`)
  await client.waitFor(m => m.id === 'open')
  await client.request('WATCH_ALL', {})
  t.ok(await activeSubscriptions(base) >= 2)
  client.ws.close()
  await client.closed
  t.equal(await subscriptionsAfterClose(base), 0)
})

t.test('overflow: the queued events, then subscription_end; resume from resume_from_offset; shutdown closes with 1001', async t => {
  const small = await startGateway({ env: { RSTMDB_SUBSCRIPTION_QUEUE_LIMIT: '3' } })
  t.teardown(() => stopGateway(small))
  await call(small.base, 'PUT', '/v1/machines/loop/versions/1', { json: { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'TICK', to: 'a' }] } })
  await call(small.base, 'POST', '/v1/instances', { json: { machine: 'loop', version: 1, instance_id: 'o-1' } })
  const client = await openWatch(`${small.wsBase}/v1/watch?instance_id=o-1`)
  const open = await client.waitFor(m => m.id === 'open')
  const raw = (client.ws as unknown as { _socket: import('node:net').Socket })._socket
  raw.pause()
  const big = 'x'.repeat(128 * 1024)
  const offsets: number[] = []
  for (let i = 0; i < 40; i++) {
    const res = await call(small.base, 'POST', '/v1/instances/o-1/events', { json: { event: 'TICK', payload: { big, i } } })
    offsets.push(res.body.wal_offset)
  }
  raw.resume()
  const end = await client.waitFor(m => m.type === 'subscription_end', 20_000)
  t.match(end, { subscription_id: open.result.subscription_id, reason: 'overflow' })
  const delivered = client.events().map(e => e.wal_offset)
  t.same(delivered, offsets.slice(0, delivered.length), 'a gapless prefix')
  t.ok(delivered.length < offsets.length, 'some events were not delivered')
  t.equal(end.resume_from_offset, offsets[delivered.length])
  t.equal(end.last_wal_offset, delivered[delivered.length - 1] ?? 0)

  const resumed = await openWatch(`${small.wsBase}/v1/watch?instance_id=o-1&include_ctx=false&from_offset=${String(end.resume_from_offset)}`)
  await resumed.waitFor(m => m.type === 'event' && m.wal_offset === offsets[offsets.length - 1])
  t.same(resumed.events().map(e => e.wal_offset), offsets.slice(delivered.length), 'the rest, after resuming')

  const stopping = small.stop()
  const notice = await resumed.waitFor(m => m.type === 'subscription_end')
  t.equal(notice.reason, 'shutdown')
  t.equal((await resumed.closed).code, 1001)
  t.equal(await stopping, 0)
  client.ws.terminate()
})
