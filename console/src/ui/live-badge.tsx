import type { LiveStatus } from '../live.js'

const TEXT: Record<LiveStatus, string> = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', paused: 'paused', refused: 'not subscribed' }

/** Connection state of the page's live feed and the last offset it saw. */
export function LiveBadge ({ status, lastOffset }: { status: LiveStatus, lastOffset: number | null }) {
  return (
    <span class={`live-badge live-${status}`} role='status' aria-live='polite'>
      <span class='dot' aria-hidden='true' />
      {TEXT[status]}
      {lastOffset !== null && <span class='mono'> · offset {lastOffset}</span>}
    </span>
  )
}
