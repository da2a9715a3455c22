import type { Static } from '@sinclair/typebox'
import { useState } from 'preact/hooks'
import type { GetHistoryResult, HistoryItem as HistoryItemSchema } from '../../../protocol/schemas/ops.js'
import { navigate, paths } from '../router.js'
import { JsonTree } from './json-tree.js'
import { Link } from './link.js'
import { formatTime } from './time.js'

/** GET /v1/instances/{id}/history and its entries (history.md §2): the server's own schemas, as types only */
type HistoryItem = Static<typeof HistoryItemSchema>
export type HistoryPage = Static<typeof GetHistoryResult>

/** How the entry changed the instance, in words and states. */
function Change ({ item }: { item: HistoryItem }) {
  if (item.type === 'APPLY_EVENT') {
    return <><code class='event'>{item.event}</code><span class='state'>{item.from_state}</span> → <span class='state'>{item.to_state}</span></>
  }
  return <><code class='event'>{item.type.toLowerCase().replace(/_/g, ' ')}</code>{item.type === 'CREATE_INSTANCE' && <span class='state'>{item.state}</span>}</>
}

/**
 * The instance's history, newest first. `selected` is the offset the page is
 * showing the instance as of: that entry is marked and the later ones are dimmed,
 * as they had not happened yet.
 */
export function HistoryTimeline ({ id, page, selected, onOlder }: { id: string, page: HistoryPage, selected: number | null, onOlder: (() => void) | null }) {
  return (
    <>
      <ol class='timeline'>
        {page.items.map((item) => {
          const later = selected !== null && item.wal_offset > selected
          const data = item.type === 'APPLY_EVENT' ? item.payload : item.type === 'CREATE_INSTANCE' ? item.ctx : null
          return (
            <li
              key={item.wal_offset} data-offset={item.wal_offset} class={item.wal_offset === selected ? 'selected' : later ? 'later' : undefined}
              aria-current={item.wal_offset === selected ? 'step' : undefined}
            >
              <div class='t-head'>
                <span class='mono muted'>#{item.wal_offset}</span>
                <Change item={item} />
              </div>
              <div class='t-meta small'>
                <span class='muted'>{formatTime(item.at)}</span>
                {item.wal_offset === selected
                  ? <span class='strong'>shown above</span>
                  : <Link href={paths.instance(id, item.wal_offset)}>view as of #{item.wal_offset}</Link>}
              </div>
              {data != null && Object.keys(data).length > 0 && (
                <details><summary class='small'>{item.type === 'APPLY_EVENT' ? 'payload' : 'initial ctx'}</summary><JsonTree value={data} /></details>
              )}
            </li>
          )
        })}
      </ol>
      {onOlder !== null && <button type='button' class='link small' onClick={onOlder}>Show older entries</button>}
      {onOlder === null && !page.complete && <p class='muted small'>Older entries are no longer kept (earliest offset {page.earliest_offset}).</p>}
    </>
  )
}

/** "As of offset N": any offset, not only those of this instance's entries (at_offset rebuilds the state right after it). */
export function TimeTravelForm ({ id, at }: { id: string, at: number | null }) {
  const [value, setValue] = useState(at === null ? '' : String(at))
  const offset = /^\d+$/.test(value.trim()) ? Number(value.trim()) : null
  return (
    <form class='time-travel' onSubmit={(e) => { e.preventDefault(); if (offset !== null) navigate(paths.instance(id, offset)) }}>
      <label>
        As of offset
        <input class='mono' inputMode='numeric' value={value} placeholder='offset' onInput={(e) => setValue(e.currentTarget.value)} />
      </label>
      <button type='submit' disabled={offset === null}>Go</button>
    </form>
  )
}
