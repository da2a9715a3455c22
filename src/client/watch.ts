import type { Static } from '@sinclair/typebox'
import type { EventMessage, LifecycleEvent as LifecycleEventSchema } from '../../protocol/schemas/envelopes.js'
import type { OpInput, OpResult } from '../../protocol/schemas/registry.js'
import type { Connection, Message, SubscriptionListener } from './connection.js'
import { ClientError } from './errors.js'

/**
 * A subscription as an async iterator of its events (rcp.md §10). It survives what the
 * server and the network do to it: after a drop, an overflow or a shutdown notice it
 * subscribes again with `from_offset` one past the last event it took in (or the notice's
 * `resume_from_offset`), and drops any event at or below that mark, so the consumer sees
 * every matching event once, in order.
 */

export type WatchOp = 'WATCH_ALL' | 'WATCH_INSTANCE'
/** an `event` message as the server sent it: a transition */
export type WatchEvent = Static<typeof EventMessage>
/** with `include_lifecycle: true` a watch also yields creations and deletions, told apart by `kind` (history.md §6a) */
export type LifecycleEvent = Static<typeof LifecycleEventSchema>
/** what a watch yields: transitions, and lifecycle events when it asked for them */
export type AnyWatchEvent = WatchEvent | LifecycleEvent

/** What a watch needs from its client. */
export interface WatchHost {
  /** the current connection, or the next one; rejects when there will be none */
  connection: () => Connection | Promise<Connection>
  /** subscribe again after a drop or an end notice; otherwise either fails the watch */
  readonly resumes: boolean
  readonly queueLimit: number
  readonly requestTimeoutMs: number
  release: (watch: WatchControl) => void
}

/** What the client calls on its watches. */
export interface WatchControl {
  connectionLost: (conn: Connection, err: ClientError) => void
  end: () => void
}

/**
 * pending: a subscribe is on its way; live: subscribed on `conn`; suspended: unsubscribed
 * until the consumer drains the queue; waiting: ended by a shutdown notice, resubscribing
 * once the connection drops; done: no more events.
 */
type State = 'pending' | 'live' | 'suspended' | 'waiting' | 'done'

interface Waiter<E> {
  resolve: (result: IteratorResult<E>) => void
  reject: (err: Error) => void
}

const DONE: IteratorResult<never> = { value: undefined, done: true }

function firstOffsetAfter (op: WatchOp, result: Message): number {
  const seen = op === 'WATCH_ALL' ? result.wal_offset : result.current_wal_offset
  return Number(seen) + 1
}

export class Watch<K extends WatchOp, E extends AnyWatchEvent = WatchEvent> implements AsyncIterableIterator<E>, WatchControl {
  readonly op: K
  readonly params: OpInput<K>
  /** the result of the first subscribe; rejects when the subscription could not be made */
  readonly subscribed: Promise<OpResult<K>>
  readonly #host: WatchHost
  #state: State = 'pending'
  #conn: Connection | null = null
  #subscriptionId: string | null = null
  /** the lowest offset still wanted: one past the last event queued; null until the first subscribe says */
  #next: number | null
  readonly #queue: E[] = []
  readonly #waiters: Array<Waiter<E>> = []
  #error: Error | null = null
  /** bumped on every subscribe and on stop, so output of an older subscription is ignored */
  #attempt = 0
  // typed loosely so that a Watch<'WATCH_ALL'> is also a Watch<WatchOp>
  #settleFirst: { resolve: (r: any) => void, reject: (e: Error) => void } | null = null

  constructor (host: WatchHost, op: K, params: OpInput<K>) {
    this.#host = host
    this.op = op
    this.params = params
    const from = (params as { from_offset?: number | null }).from_offset
    this.#next = typeof from === 'number' ? from : null
    this.subscribed = new Promise((resolve, reject) => { this.#settleFirst = { resolve, reject } })
    // awaiting it is optional: a failure also reaches the iterator
    this.subscribed.catch(() => {})
    void this.#subscribe()
  }

  /** the id of the current server-side subscription (it changes when the watch resubscribes) */
  get subscriptionId (): string | null {
    return this.#subscriptionId
  }

  /** the from_offset to subscribe with to continue after the events taken in so far */
  get resumeOffset (): number | null {
    return this.#next
  }

  [Symbol.asyncIterator] (): this {
    return this
  }

  next (): Promise<IteratorResult<E>> {
    const value = this.#queue.shift()
    if (value !== undefined) {
      if (this.#state === 'suspended' && this.#queue.length <= this.#host.queueLimit / 2) void this.#subscribe()
      return Promise.resolve({ value, done: false })
    }
    if (this.#error !== null) {
      const err = this.#error
      this.#error = null
      return Promise.reject(err)
    }
    if (this.#state === 'done') return Promise.resolve(DONE)
    return new Promise((resolve, reject) => { this.#waiters.push({ resolve, reject }) })
  }

  /** `break` out of a for-await loop lands here: the subscription is removed (UNWATCH). */
  async return (): Promise<IteratorResult<E>> {
    await this.close()
    return DONE
  }

  /** Stops the watch: UNWATCH when subscribed; pending and later next() calls end. */
  async close (): Promise<void> {
    if (this.#state === 'done') return
    const live = this.#state === 'live'
    const conn = this.#conn
    const sid = this.#subscriptionId
    this.#queue.length = 0
    this.#finish(null)
    if (live && conn !== null && sid !== null) await this.#unwatch(conn, sid)
  }

  /** For the client: it lost `conn`; subscribe again on the next connection, or fail when the client does not reconnect. */
  connectionLost (conn: Connection, err: ClientError): void {
    if (this.#conn !== conn || this.#state === 'done' || this.#state === 'suspended') return
    this.#conn = null
    if (this.#host.resumes) void this.#subscribe()
    else this.#finish(err)
  }

  /** For the client: it is closing; the iterator ends once the queue is drained. */
  end (): void {
    this.#finish(null)
  }

  async #subscribe (): Promise<void> {
    const attempt = ++this.#attempt
    this.#state = 'pending'
    this.#subscriptionId = null
    let conn: Connection
    try {
      conn = await this.#host.connection()
    } catch (err) {
      if (attempt === this.#attempt) this.#finish(err as Error)
      return
    }
    if (attempt !== this.#attempt) return
    this.#conn = conn
    const params = this.#next === null ? this.params : { ...this.params, from_offset: this.#next }
    try {
      await conn.send(this.op, params, false, this.#host.requestTimeoutMs, undefined, this.#listener(conn, attempt))
    } catch (err) {
      if (attempt !== this.#attempt) return
      // the connection went away under the subscribe: the next one gets it
      if (err instanceof ClientError && err.code === 'CONNECTION_FAILED' && this.#host.resumes) void this.#subscribe()
      else this.#finish(err as Error)
    }
  }

  #listener (conn: Connection, attempt: number): SubscriptionListener {
    return {
      subscribed: (result) => {
        const sid = result.subscription_id as string
        if (attempt !== this.#attempt) {
          // stopped or superseded while the subscribe was on its way
          void this.#unwatch(conn, sid)
          return
        }
        this.#state = 'live'
        this.#subscriptionId = sid
        this.#next ??= firstOffsetAfter(this.op, result)
        this.#settleFirst?.resolve(result)
        this.#settleFirst = null
      },
      event: (message) => {
        if (attempt === this.#attempt) this.#take(conn, message as E)
      },
      end: (message) => {
        if (attempt === this.#attempt) this.#ended(message)
      },
    }
  }

  #take (conn: Connection, event: E): void {
    // at or below the mark: already taken in before a resubscribe
    if (this.#next !== null && event.wal_offset < this.#next) return
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) {
      this.#next = event.wal_offset + 1
      waiter.resolve({ value: event, done: false })
      return
    }
    if (this.#queue.length >= this.#host.queueLimit) {
      // a consumer this far behind: stop the subscription, resume from the mark once it catches up
      this.#state = 'suspended'
      this.#attempt++
      if (this.#subscriptionId !== null) void this.#unwatch(conn, this.#subscriptionId)
      this.#subscriptionId = null
      return
    }
    this.#queue.push(event)
    this.#next = event.wal_offset + 1
  }

  #ended (notice: Message): void {
    this.#subscriptionId = null
    this.#next = Math.max(this.#next ?? 0, Number(notice.resume_from_offset))
    if (!this.#host.resumes) {
      this.#finish(new ClientError('SUBSCRIPTION_ENDED', `subscription ended by the server (${String(notice.reason)})`, {
        reason: notice.reason,
        last_wal_offset: notice.last_wal_offset,
        resume_from_offset: notice.resume_from_offset,
      }))
    } else if (notice.reason === 'shutdown') {
      // the server is going away: resubscribing here would only be ended again; the drop resubscribes
      this.#state = 'waiting'
    } else {
      void this.#subscribe()
    }
  }

  async #unwatch (conn: Connection, sid: string): Promise<void> {
    conn.forget(sid)
    await conn.send('UNWATCH', { subscription_id: sid }, false, this.#host.requestTimeoutMs).catch(() => {})
  }

  /** No more events: `err` (when given) reaches the consumer after the queued events. */
  #finish (err: Error | null): void {
    if (this.#state === 'done') return
    this.#state = 'done'
    this.#attempt++
    this.#host.release(this)
    this.#settleFirst?.reject(err ?? new ClientError('CONNECTION_FAILED', 'watch stopped before it was subscribed'))
    this.#settleFirst = null
    if (err !== null) {
      const waiter = this.#waiters.shift()
      if (waiter !== undefined) waiter.reject(err)
      else this.#error = err
    }
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(DONE)
  }
}
