import t from 'tap'
import type { JsonObject } from '../../protocol/entries.js'
import { clientFor, collect, loose, rejected } from '../support/client.js'
import { ORDER } from '../support/machines.js'
import { prng } from '../support/prng.js'
import { startServer } from '../support/server.js'
import type { HistoryResult } from './helpers.js'

/**
 * GET_INSTANCE `at_offset` (history.md §3) as a property: over a random run of creates,
 * events (some refused) and deletes on a real server, the instance at every offset N is
 * exactly what a watcher had seen of it by N (its last event's state and ctx, or its
 * creation), and it does not exist before its creation or after its deletion.
 */

const SEEDS = [7, 1234]
const STEPS = 160

/** What one instance looked like from one offset on. */
interface Seen { offset: number, state: string, ctx: JsonObject, lastEventId: string | null, deleted: boolean, at?: string }

for (const seed of SEEDS) {
  t.test(`seed ${seed}: at_offset is what the watcher saw, at every offset`, async t => {
    const server = await startServer(t)
    const client = await clientFor(t, server)
    const rcp = loose(client)
    await client.putMachine({ machine: 'order', version: 1, definition: ORDER })
    const watched = collect(client.watchAll({ include_ctx: true, from_offset: 1 }))

    const rand = prng(seed)
    const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)]
    const timelines = new Map<string, Seen[]>()
    const live: string[] = []
    let lastEvent = 0
    for (let step = 0; step < STEPS; step++) {
      const r = rand()
      if (r < 0.15 || live.length === 0) {
        const id = `o-${step}`
        const ctx = { n: Math.floor(rand() * 100) }
        const { wal_offset: offset, state } = await client.createInstance({ machine: 'order', version: 1, instance_id: id, initial_ctx: ctx })
        timelines.set(id, [{ offset, state, ctx, lastEventId: null, deleted: false }])
        live.push(id)
      } else if (r < 0.2) {
        const id = live.splice(Math.floor(rand() * live.length), 1)[0]
        const { wal_offset: offset } = await client.deleteInstance({ instance_id: id })
        const before = (timelines.get(id) as Seen[]).at(-1) as Seen
        timelines.get(id)?.push({ ...before, offset, deleted: true })
      } else {
        // PAY's guard wants amount > 0 and SHIP needs paid: some of these are refused and write nothing
        const event = pick(['PAY', 'PAY', 'NOTE', 'NOTE', 'SHIP', 'CANCEL'])
        const payload = event === 'PAY' ? { amount: Math.floor(rand() * 6) - 2 } : event === 'NOTE' ? { note: step } : undefined
        const eventId = rand() < 0.5 ? `evt-${step}` : undefined
        try {
          const applied = await client.applyEvent({ instance_id: pick(live), event, payload, event_id: eventId })
          lastEvent = applied.wal_offset
        } catch (err) {
          t.ok(['GUARD_FAILED', 'INVALID_TRANSITION'].includes((err as { code: string }).code), `step ${step}: refused ${event}`)
        }
      }
    }

    // the watcher's view of every event, in offset order
    if (lastEvent > 0) await watched.until(e => e.wal_offset === lastEvent)
    for (const e of watched.events) {
      const timeline = timelines.get(e.instance_id) as Seen[]
      timeline.push({ offset: e.wal_offset, state: e.to_state, ctx: e.ctx as JsonObject, lastEventId: null, deleted: false })
    }
    const head = (await client.info()).wal_offset
    const ids = [...timelines.keys(), 'never-created']
    for (const timeline of timelines.values()) timeline.sort((a, b) => a.offset - b.offset)

    // the history says which events carried an event_id (watch events do not), and when each entry was made
    for (const [id, timeline] of timelines) {
      const history = await rcp.request('GET_HISTORY', { instance_id: id, limit: 1000 }) as HistoryResult
      t.same(history.items.map(i => i.wal_offset), timeline.map(s => s.offset), `${id}: its history holds exactly its writes`)
      let lastEventId: string | null = null
      for (const [i, item] of history.items.entries()) {
        if (item.type === 'APPLY_EVENT') {
          t.equal(item.to_state, timeline[i].state, `${id}@${item.wal_offset}: the history agrees with the watcher`)
          lastEventId = item.event_id ?? null
        }
        timeline[i].lastEventId = lastEventId
        timeline[i].at = item.at
      }
    }

    let checked = 0
    for (let at = 0; at <= head; at++) {
      await Promise.all(ids.map(async id => {
        const seen = (timelines.get(id) ?? []).filter(s => s.offset <= at).at(-1)
        const label = `${id} at ${at}`
        if (seen === undefined || seen.deleted) {
          const err = await rejected(client.getInstance({ instance_id: id, at_offset: at }))
          t.equal(err.code, 'INSTANCE_NOT_FOUND', `${label}: ${seen === undefined ? 'not created yet' : 'deleted'}`)
          return
        }
        const got = await client.getInstance({ instance_id: id, at_offset: at })
        const want: JsonObject = { instance_id: id, machine: 'order', version: 1, state: seen.state, ctx: seen.ctx, last_wal_offset: seen.offset }
        if (seen.lastEventId !== null) want.last_event_id = seen.lastEventId
        const { created_at: _c, updated_at: updatedAt, ...rest } = got
        t.same(rest, want, label)
        t.equal(updatedAt, Date.parse(seen.at as string), `${label}: updated_at is the time of that entry`)
        checked++
      }))
    }
    t.ok(checked > head, `${checked} states checked over ${head} offsets`)

    // at the head, at_offset is GET_INSTANCE itself, timestamps included
    for (const id of live) t.same(await client.getInstance({ instance_id: id, at_offset: head }), await client.getInstance({ instance_id: id }), `${id} at the head`)
  })
}
