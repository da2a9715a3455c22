import type { WalEntry } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
import { createFifo } from './queue.js'
import { endText, eventText, type SharedEvent } from './messages.js'
import type { EventMatcher } from './filter.js'
import type { CommittedLog, EndReason, Sink } from './types.js'

const CATCH_UP_BATCH = 256
const CATCH_UP_MAX_BYTES = 4 * 1024 * 1024

export type SubscriptionKind = 'instance' | 'all'

export interface SubscriptionOptions {
  id: string
  kind: SubscriptionKind
  /** the instance a WATCH_INSTANCE follows */
  instanceId?: string
  match: EventMatcher
  includeCtx: boolean
  sink: Sink
  queueLimit: number
  log: CommittedLog
  toSharedEvent: (sequence: number, entry: WalEntry) => SharedEvent | null
  /** registers the subscription for live events (at once, or when catch-up is done) */
  goLive: (subscription: Subscription) => void
  /** called once when the subscription is over, whatever the reason */
  onRemoved: (subscription: Subscription) => void
  /** the bus's highest examined committed offset (for resume offsets of live subscriptions) */
  lastSeen: () => number
  countForwarded: () => void
}

export interface Subscription {
  readonly id: string
  readonly kind: SubscriptionKind
  readonly instanceId?: string
  /** live delivery takes events with offsets above this */
  readonly startAfter: number
  /** starts delivery; called after the subscribe response was written */
  start: () => void
  /** a committed event from the live stream */
  offer: (event: SharedEvent) => void
  /**
   * Live events from `from` on will never arrive (compaction removed them before this node
   * applied them): ends with the `compacted` notice once the queue has drained.
   */
  cut: (from: number) => void
  /** ends with a shutdown notice once the queue has drained */
  shutdown: () => void
  /** ends at once: no notice (UNWATCH, BYE, closed transport) */
  drop: () => void
  readonly ended: boolean
}

/**
 * One subscription: a bounded FIFO in front of a sink, catch-up from the WAL
 * when it starts at an offset, and the end notice (rcp.md §10.2–§10.4).
 */
export function createSubscription (opts: SubscriptionOptions, fromOffset: number | undefined): Subscription {
  const queue = createFifo<{ offset: number, text: string }>()
  let started = false
  let ended = false
  let waitingDrain = false
  let lastDelivered = 0
  /** why it ends once the queue is delivered, and the first offset not delivered: a full queue, or compacted events */
  let endAt: { reason: 'overflow' | 'compacted', offset: number } | null = null
  let closing = false
  let live = false
  /** catch-up only: next offset to read */
  let cursor = 0
  /** highest offset examined when shutdown began: later events are ignored, so the resume offset stops there */
  let shutdownExamined = 0
  let pin: ReturnType<CommittedLog['pin']> | null = null
  let reading = false

  const head = opts.log.committedHead()
  const appended = opts.log.appendedHead()
  // from_offset at or below the committed head needs catch-up; otherwise live from there
  const catchUp = fromOffset !== undefined && fromOffset <= head
  const startAfter = fromOffset === undefined ? appended : Math.max(fromOffset - 1, 0)
  if (catchUp) {
    cursor = Math.max(fromOffset, 1)
    pin = opts.log.pin(cursor)
  }

  function examinedUpTo (): number {
    if (!live) return cursor - 1
    return Math.max(startAfter, opts.lastSeen())
  }

  function end (reason: EndReason, resumeFrom: number): void {
    if (ended) return
    ended = true
    release()
    opts.sink.send(endText(opts.id, reason, lastDelivered, resumeFrom), 'end', resumeFrom - 1)
    opts.onRemoved(self)
  }

  function release (): void {
    if (pin !== null) {
      pin.release()
      pin = null
    }
  }

  /** Catch-up is paced by the sink and never overflows; only live delivery is bounded by queue_limit. */
  function enqueue (event: SharedEvent, bounded: boolean): void {
    if (endAt !== null) return
    if (bounded && queue.length >= opts.queueLimit) {
      endAt = { reason: 'overflow', offset: event.offset }
      return
    }
    queue.push({ offset: event.offset, text: eventText(event, opts.id, opts.includeCtx) })
  }

  function flush (): void {
    if (!started || ended || waitingDrain) return
    let item = queue.shift()
    while (item !== undefined) {
      lastDelivered = item.offset
      opts.countForwarded()
      if (!opts.sink.send(item.text, 'event', item.offset)) {
        waitingDrain = true
        opts.sink.onDrain(onDrain)
        return
      }
      item = queue.shift()
    }
    if (endAt !== null) end(endAt.reason, endAt.offset)
    else if (closing) end('shutdown', shutdownExamined + 1)
    else if (!live && !reading) void readMore()
  }

  function onDrain (): void {
    waitingDrain = false
    flush()
  }

  /** Reads the next committed batch; paced: only when the queue has been handed to the sink. */
  async function readMore (): Promise<void> {
    reading = true
    try {
      // eslint-disable-next-line no-unmodified-loop-condition -- end() and close() set these while the loop awaits
      while (!ended && !closing) {
        if (cursor > opts.log.committedHead()) {
          // same turn as the check: nothing committed can fall between catch-up and live
          live = true
          release()
          opts.goLive(self)
          return
        }
        const { records } = await opts.log.read(cursor, CATCH_UP_BATCH, CATCH_UP_MAX_BYTES)
        if (ended || closing) return
        if (records.length === 0) {
          // sequences up to the head were burned by failed writes: nothing to read there
          cursor = opts.log.committedHead() + 1
          continue
        }
        for (const record of records) {
          const event = opts.toSharedEvent(record.sequence, record.entry)
          if (event !== null && opts.match(event)) enqueue(event, false)
        }
        cursor = records[records.length - 1].sequence + 1
        pin?.advance(cursor)
        if (queue.length > 0) break
      }
    } catch (err) {
      // the log could not be read: tell the client where to resume rather than skip silently
      if (err instanceof RcpError && err.details.reason === 'offset_compacted') endAt = { reason: 'compacted', offset: cursor }
      shutdownExamined = cursor - 1
      closing = true
    } finally {
      reading = false
    }
    flush()
  }

  const self: Subscription = {
    id: opts.id,
    kind: opts.kind,
    instanceId: opts.instanceId,
    startAfter,
    start () {
      if (started || ended) return
      started = true
      if (catchUp) void readMore()
      else flush()
    },
    offer (event) {
      if (ended || closing || event.offset <= startAfter) return
      if (!opts.match(event)) return
      enqueue(event, true)
      flush()
    },
    cut (from) {
      if (ended || endAt !== null) return
      endAt = { reason: 'compacted', offset: from }
      flush()
    },
    shutdown () {
      if (ended || closing) return
      shutdownExamined = examinedUpTo()
      closing = true
      if (!started) started = true
      if (!reading) flush()
    },
    drop () {
      if (ended) return
      ended = true
      queue.clear()
      release()
      opts.onRemoved(self)
    },
    get ended () { return ended },
  }
  if (!catchUp) {
    // live at once, before the subscribe response is written: events committed while it
    // waits for earlier responses are queued, not missed; delivery begins at start()
    live = true
    opts.goLive(self)
  }
  return self
}
