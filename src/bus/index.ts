import { randomUUID } from 'node:crypto'
import { RcpError } from '../../protocol/errors.js'
import type { JsonObject, WalEntry } from '../../protocol/entries.js'
import { validateParams } from '../../protocol/schemas.js'
import { sharedEventOf, type InstanceLookup } from './events.js'
import { compileWatchAllFilter, type EventMatcher, type WatchAllFilter } from './filter.js'
import { createSubscription, type Subscription, type SubscriptionKind } from './subscription.js'
import type { CommittedLog, CommittedRecord, Sink } from './types.js'

export type { CommittedLog, CommittedRecord, Sink } from './types.js'

export interface BusOptions {
  log: CommittedLog
  /** current machine/version/state of an instance, for WATCH_INSTANCE, deletions and old entries without machine */
  getInstance: InstanceLookup
  queueLimit: number
}

export interface WatchOutcome {
  result: JsonObject
  walOffset: number
  /** begins delivery; call it right after the subscribe response has been written */
  start: () => void
}

/** The subscriptions of one connection or WebSocket: they share its sink and end with it. */
export interface Owner {
  watch: (op: 'WATCH_INSTANCE' | 'WATCH_ALL', params: unknown) => WatchOutcome
  unwatch: (params: unknown) => { result: JsonObject, walOffset: number }
  /** ends every subscription with the shutdown notice; resolves when all notices were handed to the sink */
  shutdown: () => Promise<void>
  /** drops every subscription without notice (BYE, closed transport) */
  close: () => void
  readonly size: number
}

export interface BusStats {
  instanceSubscriptions: number
  allSubscriptions: number
  eventsForwarded: number
}

export interface Bus {
  attach: (sink: Sink) => Owner
  stats: () => BusStats
}

export function createBus (opts: BusOptions): Bus {
  const byInstance = new Map<string, Set<Subscription>>()
  const watchAll = new Set<Subscription>()
  let lastSeen = opts.log.committedHead()
  let eventsForwarded = 0
  const counts = { instance: 0, all: 0 }
  /** subscriptions with include_lifecycle: without any, creations and deletions are not even looked at */
  let lifecycleSubscriptions = 0

  const toSharedEvent = (sequence: number, entry: WalEntry) => sharedEventOf(sequence, entry, opts.getInstance)

  function publish (records: CommittedRecord[]): void {
    for (const record of records) {
      lastSeen = record.sequence
      if (record.entry.type !== 'apply_event' && lifecycleSubscriptions === 0) continue
      const event = toSharedEvent(record.sequence, record.entry)
      if (event === null) continue
      const followers = byInstance.get(event.instanceId)
      if (followers !== undefined) for (const sub of followers) sub.offer(event)
      for (const sub of watchAll) sub.offer(event)
    }
  }
  opts.log.onCommit(publish)
  // a cluster node that loaded a newer snapshot never hears of these offsets: its live watchers end, told where
  opts.log.onSkip?.((from) => {
    for (const subs of [watchAll, ...byInstance.values()]) for (const sub of [...subs]) sub.cut(from)
  })

  function goLive (sub: Subscription): void {
    if (sub.kind === 'all') {
      watchAll.add(sub)
      return
    }
    const id = sub.instanceId as string
    let set = byInstance.get(id)
    if (set === undefined) byInstance.set(id, set = new Set())
    set.add(sub)
  }

  function removeLive (sub: Subscription): void {
    if (sub.kind === 'all') {
      watchAll.delete(sub)
      return
    }
    const set = byInstance.get(sub.instanceId as string)
    if (set === undefined) return
    set.delete(sub)
    if (set.size === 0) byInstance.delete(sub.instanceId as string)
  }

  /** NOT_FOUND when from_offset points into compacted history (rcp.md §10.2). */
  function checkFromOffset (fromOffset: number | undefined): void {
    if (fromOffset === undefined) return
    const earliest = opts.log.earliestOffset()
    if (fromOffset < earliest && earliest > 1) {
      throw new RcpError('NOT_FOUND', `offset ${fromOffset} has been compacted; earliest retained offset is ${earliest}`, {
        reason: 'offset_compacted', from_offset: fromOffset, earliest_offset: earliest,
      })
    }
  }

  function attach (sink: Sink): Owner {
    const subs = new Map<string, Subscription>()
    const ending = new Map<string, () => void>()

    function subscribe (kind: SubscriptionKind, params: JsonObject, instanceId?: string): Subscription {
      const fromOffset = params.from_offset as number | undefined
      checkFromOffset(fromOffset)
      // live events reach an instance subscription through byInstance already; catch-up reads every record
      const filter: EventMatcher = kind === 'all'
        ? compileWatchAllFilter(params as WatchAllFilter)
        : event => event.instanceId === instanceId
      const lifecycle = params.include_lifecycle === true
      const match: EventMatcher = lifecycle ? filter : event => event.kind === 'transition' && filter(event)
      const sub = createSubscription({
        id: `sub-${randomUUID()}`,
        kind,
        instanceId,
        match,
        includeCtx: params.include_ctx !== false,
        sink,
        queueLimit: opts.queueLimit,
        log: opts.log,
        toSharedEvent,
        goLive,
        onRemoved (s) {
          removeLive(s)
          subs.delete(s.id)
          counts[s.kind]--
          if (lifecycle) lifecycleSubscriptions--
          ending.get(s.id)?.()
          ending.delete(s.id)
        },
        lastSeen: () => lastSeen,
        countForwarded: () => { eventsForwarded++ },
      }, fromOffset)
      subs.set(sub.id, sub)
      counts[kind]++
      if (lifecycle) lifecycleSubscriptions++
      return sub
    }

    return {
      watch (op, rawParams) {
        const params = validateParams(op, rawParams)
        if (op === 'WATCH_INSTANCE') {
          const instanceId = params.instance_id as string
          const instance = opts.getInstance(instanceId)
          if (instance === undefined || instance.deleted) {
            throw new RcpError('INSTANCE_NOT_FOUND', `instance not found: ${instanceId}`, { instance_id: instanceId })
          }
          const sub = subscribe('instance', params, instanceId)
          return {
            result: {
              subscription_id: sub.id,
              instance_id: instanceId,
              current_state: instance.state,
              current_wal_offset: instance.last_wal_offset,
            },
            walOffset: opts.log.committedHead(),
            start: sub.start,
          }
        }
        const sub = subscribe('all', params)
        const head = opts.log.committedHead()
        return { result: { subscription_id: sub.id, wal_offset: head }, walOffset: head, start: sub.start }
      },
      unwatch (rawParams) {
        const params = validateParams('UNWATCH', rawParams)
        const id = params.subscription_id as string
        const sub = subs.get(id)
        sub?.drop()
        return { result: { subscription_id: id, removed: sub !== undefined }, walOffset: opts.log.committedHead() }
      },
      shutdown () {
        const pending = [...subs.values()].map(sub => new Promise<void>(resolve => {
          ending.set(sub.id, resolve)
          sub.shutdown()
        }))
        return Promise.all(pending).then(() => {})
      },
      close () {
        for (const sub of [...subs.values()]) sub.drop()
      },
      get size () { return subs.size },
    }
  }

  return {
    attach,
    stats () {
      return { instanceSubscriptions: counts.instance, allSubscriptions: counts.all, eventsForwarded }
    },
  }
}
