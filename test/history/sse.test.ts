import t, { type Test } from 'tap'
import { REVIEW } from '../support/machines.js'
import { clientFor } from '../support/client.js'
import { openSse, type SseClient } from '../support/sse.js'
import { TOKEN, TOKEN_HASH, activeSubscriptions, call, isProblem, startGateway, startGatewayInProcess, stopGateway, subscriptionsAfterClose, type Gateway } from '../http/helpers.js'

// Server-Sent Events (history.md §6) through a real HTTP client (fetch/undici), parsed as
// EventSource parses them.

const LOOP = { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'TICK', to: 'a' }] }

async function gateway (t: Test, env: Record<string, string> = {}): Promise<Gateway> {
  const server = await startGateway({ env })
  t.teardown(() => stopGateway(server))
  return server
}

async function prepare (base: string): Promise<void> {
  await call(base, 'PUT', '/v1/machines/loop/versions/1', { json: LOOP })
  await call(base, 'PUT', '/v1/machines/review/versions/1', { json: REVIEW })
  for (const id of ['s-1', 's-2', 's-3']) await call(base, 'POST', '/v1/instances', { json: { machine: 'loop', version: 1, instance_id: id } })
}

const tick = async (base: string, id: string, payload?: object): Promise<number> =>
  (await call(base, 'POST', `/v1/instances/${id}/events`, { json: { event: 'TICK', payload } })).body.wal_offset

/** the offsets of the committed apply_event records from `from` on */
async function transitionOffsets (base: string, from: number): Promise<number[]> {
  const wal = await call(base, 'GET', `/v1/wal?from_offset=${from}&limit=1000`)
  return wal.body.records.filter((r: any) => r.entry.type === 'apply_event').map((r: any) => r.sequence)
}

const offsetsOf = (s: SseClient): number[] => s.events().map(e => e.wal_offset)

t.test('the stream: headers, the subscribe comment, then each event as id + data with no event line', async t => {
  const server = await gateway(t)
  await prepare(server.base)
  const stream = await openSse(`${server.base}/v1/events?machines=loop&include_ctx=false`)
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  t.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  t.equal(stream.headers.get('cache-control'), 'no-cache, no-transform')
  t.ok(stream.headers.get('x-request-id'), 'the request id, as on every response')
  const head = Number(stream.headers.get('x-wal-offset'))
  await stream.waitForComments(1)
  t.match(JSON.parse(stream.comments[0].replace(/^subscribed /, '')), { subscription_id: /^sub-/, wal_offset: head })
  const offset = await tick(server.base, 's-1', { n: 1 })
  const event = await stream.waitFor(e => e.wal_offset === offset)
  t.same(stream.messages.map(m => [m.event, m.lastEventId, m.hasId]), [['message', String(offset), true]], 'no event: line: EventSource.onmessage gets it')
  t.match(event, { type: 'event', instance_id: 's-1', machine: 'loop', from_state: 'a', to_state: 'a', event: 'TICK', payload: { n: 1 }, at: String })
  t.notOk('ctx' in event, 'include_ctx=false')

  const one = await openSse(`${server.base}/v1/instances/s-2/events`)
  t.teardown(() => one.close())
  await one.waitForComments(1)
  const other = await tick(server.base, 's-1')
  const mine = await tick(server.base, 's-2', { who: 's-2' })
  t.match(await one.waitFor(e => e.wal_offset === mine), { instance_id: 's-2', ctx: { who: 's-2' } })
  await stream.waitFor(e => e.wal_offset === mine)
  t.same(offsetsOf(one), [mine], 'the instance route: only that instance')
  t.same(offsetsOf(stream), [offset, other, mine])
})

t.test('replay then live under concurrent REST and RCP writers: every event once, in order', async t => {
  const server = await gateway(t)
  await prepare(server.base)
  const rcp = await clientFor(t, server)
  for (let i = 0; i < 20; i++) await tick(server.base, 's-1', { i })
  const from = (await transitionOffsets(server.base, 1))[10]
  const writers = Promise.all([
    (async () => { for (let i = 0; i < 40; i++) await tick(server.base, 's-2', { i }) })(),
    (async () => { for (let i = 0; i < 40; i++) await rcp.applyEvent({ instance_id: 's-3', event: 'TICK', payload: { i } }) })(),
  ])
  const stream = await openSse(`${server.base}/v1/events?from_offset=${from}`)
  t.teardown(() => stream.close())
  await writers
  const last = await tick(server.base, 's-1', { last: true })
  await stream.waitFor(e => e.wal_offset === last)
  const expected = await transitionOffsets(server.base, from)
  t.equal(expected.length, 10 + 80 + 1)
  t.same(offsetsOf(stream), expected, 'gapless, no duplicate, in offset order')
  t.same(stream.messages.map(m => Number(m.lastEventId)), expected, 'each id is the event\'s wal_offset')
})

t.test('Last-Event-ID resumes right after the last event received, and wins over from_offset', async t => {
  const server = await gateway(t)
  await prepare(server.base)
  const first = await openSse(`${server.base}/v1/events?from_offset=1`)
  const offsets: number[] = []
  for (let i = 0; i < 5; i++) offsets.push(await tick(server.base, 's-1', { i }))
  await first.waitFor(e => e.wal_offset === offsets[2])
  const lastEventId = first.messages[first.messages.length - 1].lastEventId
  first.close()
  await first.ended
  // written while no stream was open
  for (let i = 5; i < 8; i++) offsets.push(await tick(server.base, 's-2', { i }))
  // a browser reconnects to the same URL and adds the header
  const resumed = await openSse(`${server.base}/v1/events?from_offset=1`, { 'last-event-id': lastEventId })
  t.teardown(() => resumed.close())
  await resumed.waitFor(e => e.wal_offset === offsets[7])
  const seen = [...offsetsOf(first), ...offsetsOf(resumed)]
  t.same(seen, offsets, 'together: every event once, in order')
  t.ok(offsetsOf(resumed)[0] > Number(lastEventId), 'nothing at or before Last-Event-ID again')
})

t.test('a `: ping` comment comes at the configured interval (15 s by default)', async t => {
  const { base } = await startGatewayInProcess(t, { ssePingIntervalMs: 50 })
  const stream = await openSse(`${base}/v1/events`)
  t.teardown(() => stream.close())
  await stream.waitForComments(4)
  t.match(stream.comments[0], /^subscribed /)
  t.same(stream.comments.slice(1, 4), ['ping', 'ping', 'ping'])
  t.same(stream.messages, [], 'comments are not messages: EventSource ignores them')
})

t.test('overflow: the queued events, then subscription_end (id one below resume_from_offset), then the end; resuming there misses nothing', async t => {
  const server = await gateway(t, { RSTMDB_SUBSCRIPTION_QUEUE_LIMIT: '3' })
  await prepare(server.base)
  const stream = await openSse(`${server.base}/v1/instances/s-1/events`)
  await stream.waitForComments(1)
  stream.pause()
  const big = 'x'.repeat(128 * 1024)
  const written: number[] = []
  for (let i = 0; i < 60; i++) written.push(await tick(server.base, 's-1', { big, i }))
  stream.resume()
  await stream.ended
  const end = stream.messages[stream.messages.length - 1]
  t.equal(end.event, 'subscription_end')
  const notice = JSON.parse(end.data)
  t.match(notice, { type: 'subscription_end', reason: 'overflow' })
  t.equal(Number(end.lastEventId), notice.resume_from_offset - 1, 'the notice\'s id: a reconnect resumes exactly there')
  const delivered = offsetsOf(stream)
  t.ok(delivered.length < written.length, 'the slow client did not get everything buffered for it')
  t.equal(notice.last_wal_offset, delivered[delivered.length - 1])
  t.same(delivered, written.filter(o => o < notice.resume_from_offset), 'everything before resume_from_offset, once, in order')
  t.equal(stream.messages.filter(m => m.event === 'subscription_end').length, 1)

  const again = await openSse(`${server.base}/v1/instances/s-1/events`, { 'last-event-id': end.lastEventId })
  t.teardown(() => again.close())
  await again.waitFor(e => e.wal_offset === written[written.length - 1])
  t.same([...delivered, ...offsetsOf(again)], written, 'resumed: the rest, nothing twice')
})

t.test('auth: 401 problems before the stream; the Bearer header or access_token', async t => {
  const server = await gateway(t, { RSTMDB_AUTH_REQUIRED: 'true', RSTMDB_AUTH_TOKEN_HASH: TOKEN_HASH })
  for (const path of ['/v1/events', '/v1/instances/x/events']) {
    const missing = await openSse(server.base + path)
    t.equal(missing.status, 401, `${path} without a token`)
    t.ok(isProblem(missing.problem, 401, 'UNAUTHORIZED'))
    t.match(missing.headers.get('www-authenticate'), /^Bearer/)
    const wrong = await openSse(`${server.base}${path}?access_token=nope`)
    t.ok(isProblem(wrong.problem, 401, 'AUTH_FAILED'))
    const wrongHeader = await openSse(server.base + path, { authorization: 'Bearer nope' })
    t.equal(wrongHeader.status, 401)
  }
  const header = await openSse(`${server.base}/v1/events`, { authorization: `Bearer ${TOKEN}` })
  t.equal(header.status, 200)
  header.close()
  // what a page's EventSource does: no headers, the token in the query string
  const query = await openSse(`${server.base}/v1/events?access_token=${encodeURIComponent(TOKEN)}`)
  t.equal(query.status, 200)
  query.close()
  t.notOk(JSON.stringify(server.logs).includes(TOKEN), 'the token never reaches the log')
})

t.test('Origin: another site\'s page gets 403 before the stream; the gateway\'s own origin and listed ones stream', async t => {
  const server = await gateway(t, { RSTMDB_HTTP_CORS_ORIGINS: 'https://console.example' })
  const foreign = await openSse(`${server.base}/v1/events`, { origin: 'https://evil.example' })
  t.equal(foreign.status, 403)
  t.match(foreign.problem, { code: 'UNAUTHORIZED', details: { reason: 'origin_not_allowed', origin: 'https://evil.example' } })
  for (const origin of [server.base, 'https://console.example']) {
    const ok = await openSse(`${server.base}/v1/events`, { origin })
    t.equal(ok.status, 200, origin)
    ok.close()
  }
})

t.test('bad input is a precise problem before the stream starts', async t => {
  const server = await gateway(t)
  await prepare(server.base)
  const cases: Array<[string, Record<string, string>, number, string, Record<string, unknown>]> = [
    ['/v1/events?from_offset=x', {}, 400, 'BAD_REQUEST', { field: 'from_offset' }],
    ['/v1/events?from_offset=-1', {}, 400, 'BAD_REQUEST', { field: 'from_offset' }],
    ['/v1/events?include_ctx=maybe', {}, 400, 'BAD_REQUEST', { field: 'include_ctx' }],
    [`/v1/events?machines=loop,${'m'.repeat(257)}`, {}, 400, 'BAD_REQUEST', { field: 'machines[1]' }],
    [`/v1/events?events=${'é'.repeat(129)}`, {}, 400, 'BAD_REQUEST', { field: 'events[0]' }],
    ['/v1/events', { 'last-event-id': 'abc' }, 400, 'BAD_REQUEST', { field: 'last-event-id' }],
    ['/v1/events', { 'last-event-id': '-1' }, 400, 'BAD_REQUEST', { field: 'last-event-id' }],
    ['/v1/events', { 'last-event-id': '1.5' }, 400, 'BAD_REQUEST', { field: 'last-event-id' }],
    ['/v1/events', { 'last-event-id': '9007199254740991' }, 400, 'BAD_REQUEST', { field: 'last-event-id' }],
    ['/v1/events?instance_id=nope', {}, 404, 'INSTANCE_NOT_FOUND', { instance_id: 'nope' }],
    ['/v1/instances/nope/events', {}, 404, 'INSTANCE_NOT_FOUND', { instance_id: 'nope' }],
    ['/v1/instances/s-1/events?from_offset=1.5', {}, 400, 'BAD_REQUEST', { field: 'from_offset' }],
  ]
  for (const [path, headers, status, code, details] of cases) {
    const res = await openSse(server.base + path, headers)
    t.equal(res.status, status, `${path} ${JSON.stringify(headers)}`)
    t.ok(isProblem(res.problem, status, code), code)
    t.same(res.problem.details, details)
  }
  const head = await call(server.base, 'HEAD', '/v1/events')
  t.equal(head.status, 405, 'HEAD would open a subscription no one reads')
  t.equal((await call(server.base, 'GET', '/readyz')).status, 200, 'the server is fine')
})

t.test('closing the stream ends its subscription', async t => {
  const server = await gateway(t)
  const stream = await openSse(`${server.base}/v1/events`)
  await stream.waitForComments(1)
  t.equal(await activeSubscriptions(server.base), 1)
  stream.close()
  t.equal(await subscriptionsAfterClose(server.base), 0)
})

t.test('shutdown: subscription_end with reason shutdown, then the stream ends and the server exits', async t => {
  const server = await startGateway()
  t.teardown(() => stopGateway(server))
  await prepare(server.base)
  const stream = await openSse(`${server.base}/v1/events?from_offset=1`)
  const offset = await tick(server.base, 's-1')
  await stream.waitFor(e => e.wal_offset === offset)
  const code = await server.stop('SIGTERM')
  await stream.ended
  const end = stream.messages[stream.messages.length - 1]
  t.equal(end.event, 'subscription_end')
  t.match(JSON.parse(end.data), { reason: 'shutdown', last_wal_offset: offset, resume_from_offset: offset + 1 })
  t.equal(end.lastEventId, String(offset))
  t.equal(code, 0)
})
