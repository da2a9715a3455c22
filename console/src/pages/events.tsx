import { useState } from 'preact/hooks'
import { useFeature } from '../features.js'
import { useLive, type LiveEvent } from '../live.js'
import { paths } from '../router.js'
import { JsonTree } from '../ui/json-tree.js'
import { Link } from '../ui/link.js'
import { LiveBadge } from '../ui/live-badge.js'
import { formatTime } from '../ui/time.js'

/** Newest first; older ones drop off so a busy server cannot fill the tab's memory. */
const KEEP = 500

interface Filters { machines: string, events: string, from_states: string, to_states: string }
const EMPTY: Filters = { machines: '', events: '', from_states: '', to_states: '' }
const LABELS: Record<keyof Filters, string> = { machines: 'Machines', events: 'Events', from_states: 'From states', to_states: 'To states' }

type Received = LiveEvent & { received: number }

/** The live stream of WATCH_ALL with its filters; pause closes the feed, resume picks up from the last offset seen. */
export function EventsPage () {
  const [draft, setDraft] = useState<Filters>(EMPTY)
  const [filters, setFilters] = useState<Filters>(EMPTY)
  const [paused, setPaused] = useState(false)
  const [events, setEvents] = useState<Received[]>([])
  // creations and deletions too (history.md §6a), when the server offers them
  const hasLifecycle = useFeature('lifecycle')
  const [lifecycle, setLifecycle] = useState(true)
  const withLifecycle = hasLifecycle && lifecycle
  const live = useLive({
    query: { ...filters, include_ctx: 'false', lifecycle: withLifecycle ? 'true' : undefined },
    paused,
    onEvent: (e) => setEvents((prev) => [{ ...e, received: Date.now() }, ...prev].slice(0, KEEP)),
  }, [filters.machines, filters.events, filters.from_states, filters.to_states, withLifecycle])

  return (
    <section>
      <div class='page-head'>
        <h1>Events</h1>
        <div class='actions'>
          <LiveBadge status={live.status} lastOffset={live.lastOffset} />
          <button type='button' onClick={() => setPaused(!paused)} aria-pressed={paused}>{paused ? 'Resume' : 'Pause'}</button>
          <button type='button' onClick={() => setEvents([])} disabled={events.length === 0}>Clear</button>
        </div>
      </div>
      <form class='filters' onSubmit={(e) => { e.preventDefault(); setEvents([]); setFilters({ ...draft }) }}>
        {(Object.keys(LABELS) as Array<keyof Filters>).map((key) => (
          <label key={key}>
            {LABELS[key]}
            <input class='mono' value={draft[key]} placeholder='any' onInput={(e) => setDraft({ ...draft, [key]: e.currentTarget.value })} />
          </label>
        ))}
        {hasLifecycle && (
          <label class='check'>
            <input type='checkbox' checked={lifecycle} onChange={(e) => { setEvents([]); setLifecycle(e.currentTarget.checked) }} />
            Creations and deletions
          </label>
        )}
        <button type='submit'>Apply filters</button>
      </form>
      <p class='muted small'>Comma-separated lists; an empty filter matches everything. {paused && 'Paused: events are caught up from the last offset on resume.'}</p>
      {events.length === 0
        ? <div class='empty'><p>Waiting for events{paused ? ' (paused)' : ''}…</p></div>
        : (
          <ol class='event-list'>
            {events.map((e) => (
              <li key={e.wal_offset} data-offset={e.wal_offset} data-kind={'kind' in e ? e.kind : undefined}>
                <div class='t-head'>
                  <span class='mono muted'>#{e.wal_offset}</span>
                  <Change e={e} />
                  <Link class='mono' href={paths.instance(e.instance_id)}>{e.instance_id}</Link>
                  <span class='muted small'><span class='mono'>{e.machine}</span> v{e.version} · {formatTime(e.at ?? e.received)}</span>
                </div>
                {!('kind' in e) && e.payload != null && Object.keys(e.payload).length > 0 && <details><summary class='small'>payload</summary><JsonTree value={e.payload} /></details>}
              </li>
            ))}
          </ol>
          )}
    </section>
  )
}

/** A transition's event and states; a creation's first state; a deletion's last one. */
function Change ({ e }: { e: LiveEvent }) {
  if ('kind' in e) {
    return e.kind === 'created'
      ? <><span class='chip ok'>created</span><span class='state'>{e.to_state}</span></>
      : <><span class='chip warn'>deleted</span><span class='state'>{e.from_state}</span></>
  }
  return <><code class='event'>{e.event}</code><span class='state'>{e.from_state}</span> → <span class='state'>{e.to_state}</span></>
}
