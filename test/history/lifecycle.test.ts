import t from 'tap'
import type { AnyWatchEvent } from 'rstmdb'
import { REVIEW } from '../support/machines.js'
import { clientFor, collect } from '../support/client.js'
import { openSse } from '../support/sse.js'
import { call, openWatch, startGateway, stopGateway } from '../http/helpers.js'

// Lifecycle events (history.md §6a) on RCP, the WebSocket and SSE: opt-in, in offset order with
// the transitions, in their exact shapes; without the flag nothing changes.

const server = await startGateway()
t.teardown(() => stopGateway(server))
const { base, wsBase } = server
const client = await clientFor(t, server)
await client.putMachine({ machine: 'review', version: 1, definition: REVIEW })
await client.putMachine({ machine: 'other', version: 1, definition: REVIEW })
const first = (await client.info()).wal_offset + 1

type Message = Record<string, unknown>

/** What each committed record must look like to a subscriber, built from the WAL itself. */
async function expectedMessages (from: number): Promise<Message[]> {
  const { records } = await client.walRead({ from_offset: from, limit: 1000 })
  const known = new Map<string, { machine: string, version: number, state: string }>()
  const out: Message[] = []
  for (const { sequence, entry: raw } of records) {
    const entry = raw as Record<string, any>
    const at = new Date(entry.ts).toISOString()
    if (entry.type === 'create_instance') {
      known.set(entry.instance_id, { machine: entry.machine, version: entry.version, state: entry.initial_state })
      out.push({ type: 'event', kind: 'created', instance_id: entry.instance_id, machine: entry.machine, version: entry.version, wal_offset: sequence, to_state: entry.initial_state, ctx: entry.initial_ctx, at })
    } else if (entry.type === 'apply_event') {
      (known.get(entry.instance_id) as { state: string }).state = entry.to_state
      out.push({ type: 'event', instance_id: entry.instance_id, machine: entry.machine, version: entry.version, wal_offset: sequence, from_state: entry.from_state, to_state: entry.to_state, event: entry.event, payload: entry.payload, ctx: entry.ctx, at })
    } else if (entry.type === 'delete_instance') {
      const { machine, version, state } = known.get(entry.instance_id) as { machine: string, version: number, state: string }
      out.push({ type: 'event', kind: 'deleted', instance_id: entry.instance_id, machine, version, wal_offset: sequence, from_state: state, at })
    }
  }
  return out
}

const withoutSid = (m: Message): Message => {
  const { subscription_id: _sid, ...rest } = m
  return rest
}

/** the WATCH_ALL filter rule: a non-empty list passes only messages that have that field, with a listed value */
function passes (m: Message, filter: Record<string, string[]>): boolean {
  const field: Record<string, string> = { machines: 'machine', from_states: 'from_state', to_states: 'to_state', events: 'event' }
  return Object.entries(filter).every(([list, values]) => values.includes(m[field[list]] as string))
}

const FILTERS: Record<string, Record<string, string[]>> = {
  all: {},
  review: { machines: ['review'] },
  created: { to_states: ['submitted'] },
  leftEscalated: { from_states: ['escalated'] },
  events: { events: ['REVIEW'] },
}
const query = (filter: Record<string, string[]>): string => Object.entries(filter).map(([k, v]) => `&${k}=${v.join(',')}`).join('')

t.test('creations and deletions in offset order with transitions, on every face, only when asked for', async t => {
  const watches = Object.entries(FILTERS).map(([name, f]) => [name, client.watchAll({ ...f, include_lifecycle: true })] as const)
  const plainWatch = client.watchAll({})
  await Promise.all([...watches.map(async ([, w]) => await w.subscribed), plainWatch.subscribed])
  const rcp = Object.fromEntries(watches.map(([name, w]) => [name, collect(w)]))
  const rcpPlain = collect(plainWatch)
  const ws = await openWatch(`${wsBase}/v1/watch?lifecycle=true`)
  const wsPlain = await openWatch(`${wsBase}/v1/watch`)
  const sse: Record<string, Awaited<ReturnType<typeof openSse>>> = {}
  for (const [name, f] of Object.entries(FILTERS)) sse[name] = await openSse(`${base}/v1/events?lifecycle=true${query(f)}`)
  const ssePlain = await openSse(`${base}/v1/events`)
  await ws.waitFor(m => m.id === 'open')
  await wsPlain.waitFor(m => m.id === 'open')

  await client.createInstance({ machine: 'review', version: 1, instance_id: 'a1', initial_ctx: { score: 60 } })
  await client.createInstance({ machine: 'other', version: 1, instance_id: 'o1' })
  await call(base, 'POST', '/v1/instances/a1/events', { json: { event: 'REVIEW', payload: { by: 'rest' } } })
  await client.deleteInstance({ instance_id: 'a1' })
  await client.batch({
    mode: 'atomic',
    ops: [
      { op: 'CREATE_INSTANCE', params: { machine: 'review', version: 1, instance_id: 'a2', initial_ctx: { score: 90 } } },
      { op: 'DELETE_INSTANCE', params: { instance_id: 'o1' } },
    ]
  })
  const last = await client.applyEvent({ instance_id: 'a2', event: 'REVIEW' })

  const expected = await expectedMessages(first)
  t.same(expected.map(m => m.kind ?? m.event), ['created', 'created', 'REVIEW', 'deleted', 'created', 'deleted', 'REVIEW'])
  const transitions = expected.filter(m => m.kind === undefined)
  const seen = (e: { wal_offset: number }): boolean => e.wal_offset === last.wal_offset

  for (const [name, f] of Object.entries(FILTERS)) {
    const want = expected.filter(m => passes(m, f))
    const lastWanted = (e: { wal_offset: number }): boolean => e.wal_offset === want[want.length - 1].wal_offset
    await rcp[name].until(lastWanted)
    t.same(rcp[name].events.map(e => withoutSid(e as unknown as Message)), want, `RCP ${name}`)
    await sse[name].waitFor(lastWanted)
    t.same(sse[name].events().map(withoutSid), want, `SSE ${name}`)
    t.same(sse[name].messages.map(m => Number(m.lastEventId)), want.map(m => m.wal_offset), `SSE ${name}: id is the wal_offset`)
  }
  t.same(FILTERS.events.events, ['REVIEW'], 'an events filter leaves out lifecycle events: they have no event name')
  await ws.waitFor(m => m.type === 'event' && seen(m))
  t.same(ws.events().map(withoutSid), expected, 'WebSocket')

  await rcpPlain.until(seen)
  await wsPlain.waitFor(m => m.type === 'event' && seen(m))
  await ssePlain.waitFor(seen)
  for (const [face, got] of [['RCP', rcpPlain.events as unknown as Message[]], ['WebSocket', wsPlain.events()], ['SSE', ssePlain.events()]] as const) {
    t.same(got.map(withoutSid), transitions, `${face} without the flag: transitions only`)
    t.notOk(got.some(m => 'kind' in m), `${face} without the flag: never a kind`)
  }
  ws.ws.close()
  wsPlain.ws.close()
  for (const s of [...Object.values(sse), ssePlain]) s.close()
})

t.test('replay delivers them too, and WATCH_INSTANCE gets its instance\'s deletion; include_ctx=false leaves ctx out', async t => {
  const expected = await expectedMessages(first)
  const lastOffset = expected[expected.length - 1].wal_offset as number
  const replay = collect(client.watchAll({ from_offset: first, include_lifecycle: true }))
  await replay.until(e => e.wal_offset === lastOffset)
  t.same(replay.events.map(e => withoutSid(e as unknown as Message)), expected, 'RCP replay')
  const sseReplay = await openSse(`${base}/v1/events?lifecycle=true&from_offset=${first}`)
  await sseReplay.waitFor(e => e.wal_offset === lastOffset)
  t.same(sseReplay.events().map(withoutSid), expected, 'SSE replay')
  sseReplay.close()

  const noCtx = await openWatch(`${wsBase}/v1/watch?lifecycle=true&include_ctx=false&from_offset=${first}`)
  await noCtx.waitFor(m => m.type === 'event' && m.wal_offset === lastOffset)
  t.same(noCtx.events().map(withoutSid), expected.map(m => {
    const { ctx: _ctx, ...rest } = m
    return rest
  }), 'WebSocket replay without ctx')
  noCtx.ws.close()

  await client.createInstance({ machine: 'review', version: 1, instance_id: 'a3', initial_ctx: { score: 10 } })
  const one = client.watchInstance({ instance_id: 'a3', include_lifecycle: true })
  const plain = collect(client.watchInstance({ instance_id: 'a3' }))
  const events = collect<AnyWatchEvent>(one)
  await one.subscribed
  const sseOne = await openSse(`${base}/v1/instances/a3/events?lifecycle=true&from_offset=${first}`)
  await client.applyEvent({ instance_id: 'a3', event: 'WITHDRAW' })
  const deleted = await client.deleteInstance({ instance_id: 'a3' })
  const gone = await openSse(`${base}/v1/instances/a3/events?lifecycle=true&from_offset=${first}`)
  t.same([gone.status, gone.problem.code], [404, 'INSTANCE_NOT_FOUND'], 'a deleted instance cannot be watched any more')
  const tail = (await expectedMessages(first)).filter(m => m.instance_id === 'a3')
  t.same(tail.map(m => m.kind ?? m.event), ['created', 'WITHDRAW', 'deleted'])
  await events.until(e => e.wal_offset === deleted.wal_offset)
  t.same(events.events.map(e => withoutSid(e as unknown as Message)), tail.slice(1), 'RCP WATCH_INSTANCE: the transition, then the deletion')
  await sseOne.waitFor(e => e.wal_offset === deleted.wal_offset)
  t.same(sseOne.events().map(withoutSid), tail, 'SSE of one instance, replayed: its creation too')
  sseOne.close()
  await plain.until(e => e.event === 'WITHDRAW')
  t.equal(plain.events.length, 1, 'without the flag: the transition only')
})

t.test('bad input: include_lifecycle must be a boolean', async t => {
  const rcp = await client.request('WATCH_ALL', { include_lifecycle: 'yes' } as any).catch(err => err)
  t.same([rcp.code, rcp.details], ['BAD_REQUEST', { field: 'include_lifecycle' }])
  const ws = await openWatch(`${wsBase}/v1/watch?control=true`)
  t.same((await ws.request('WATCH_INSTANCE', { instance_id: 'a2', include_lifecycle: 1 })).error.details, { field: 'include_lifecycle' })
  ws.ws.close()
  const sse = await openSse(`${base}/v1/events?lifecycle=maybe`)
  t.same([sse.status, sse.problem.details], [400, { field: 'lifecycle' }])
  t.ok((await client.info()).features.includes('lifecycle_events'))
})
