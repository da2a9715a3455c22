import { setTimeout as sleep } from 'node:timers/promises'
import type { KV, KvEntry } from '@nats-io/kv'
import type { Logger } from '../logger.js'

/** The value of the `leader` key (cluster.md §3). */
export interface LeaderInfo {
  node_id: string
  rcp_addr: string | null
  http_addr: string | null
  /** the KV revision of the create that started this leadership; null for the moment between create and first renewal */
  term: number | null
}

export const LEADER_KEY = 'leader'

export interface LeaseOptions {
  kv: KV
  leaseMs: number
  self: Omit<LeaderInfo, 'term'>
  logger: Logger
  /** the lease is gone (renewal refused or lease_ms without a successful one); called once */
  onLost: (why: string) => void
}

export interface Lease {
  /** the term: the revision of the create */
  readonly term: number
  /** true while this node may decide: a renewal (or the create) sent less than lease_ms ago succeeded */
  valid: () => boolean
  /** stops renewing and deletes the key with the revision held (fast failover); never throws */
  release: () => Promise<void>
  /** stops renewing and leaves the key to expire */
  drop: () => void
}

function decode (entry: KvEntry | null): LeaderInfo | null {
  if (entry === null || entry.operation !== 'PUT') return null
  try {
    const v = entry.json<LeaderInfo>()
    return typeof v?.node_id === 'string' ? v : null
  } catch {
    return null
  }
}

/** The current holder of the lease, or null when the key is absent, deleted or expired. */
export async function readLeader (kv: KV): Promise<LeaderInfo | null> {
  return decode(await kv.get(LEADER_KEY))
}

/**
 * Takes the lease if nobody holds it (`create` succeeds only on an absent key) and keeps
 * it by compare-and-set renewals every lease_ms / 3. Validity is measured from when each
 * successful renewal was sent, which is before the server stored it, so this node stops
 * deciding before the key can expire for anyone else. Resolves null when the key is held.
 */
export async function acquireLease (opts: LeaseOptions): Promise<Lease | null> {
  const { kv, leaseMs } = opts
  const interval = Math.max(1, Math.floor(leaseMs / 3))
  let sent = performance.now()
  let revision: number
  try {
    revision = await kv.create(LEADER_KEY, JSON.stringify({ ...opts.self, term: null }))
  } catch {
    return null
  }
  const term = revision
  let validUntil = sent + leaseMs
  let stopped = false
  // onLost is for a lease that was handed over, not for one lost while being taken
  let held = false
  let timer: NodeJS.Timeout | null = null
  const value = JSON.stringify({ ...opts.self, term })

  function lost (why: string): void {
    if (stopped) return
    stopped = true
    if (timer !== null) clearTimeout(timer)
    validUntil = 0
    if (held) opts.onLost(why)
  }

  async function renew (): Promise<void> {
    timer = null
    if (stopped) return
    if (performance.now() >= validUntil) {
      lost(`no renewal succeeded within lease_ms (${leaseMs} ms)`)
      return
    }
    sent = performance.now()
    try {
      revision = await kv.update(LEADER_KEY, value, revision, Math.max(1, Math.min(interval, validUntil - sent)))
      if (stopped) return
      validUntil = sent + leaseMs
    } catch (err) {
      lost(`lease renewal failed: ${(err as Error).message}`)
      return
    }
    timer = setTimeout(() => { void renew() }, interval)
  }

  // the first renewal writes the term into the value at once
  await renew()
  if (stopped) {
    // do not make everyone wait for the TTL of a lease that could not be kept
    await kv.delete(LEADER_KEY, { previousSeq: revision }).catch(() => {})
    return null
  }
  held = true
  return {
    term,
    valid: () => !stopped && performance.now() < validUntil,
    async release () {
      if (stopped && validUntil === 0) return
      stopped = true
      if (timer !== null) clearTimeout(timer)
      validUntil = 0
      await kv.delete(LEADER_KEY, { previousSeq: revision }).catch((err: unknown) => {
        opts.logger.warn({ err: (err as Error).message }, 'could not delete the leader key; it expires by itself')
      })
    },
    drop () {
      stopped = true
      validUntil = 0
      if (timer !== null) clearTimeout(timer)
    },
  }
}

export interface LeaderWatch {
  stop: () => Promise<void>
}

/**
 * Reports the lease holder whenever it may have changed: a watch on the key for puts
 * and deletes, and a read every lease_ms / 3, because an expiry by the bucket TTL
 * produces no watch event on NATS 2.9 (cluster.md §3).
 */
export function watchLeader (kv: KV, leaseMs: number, logger: Logger, onLeader: (leader: LeaderInfo | null) => void): LeaderWatch {
  let stopped = false
  const abort = new AbortController()
  const pause = (ms: number): Promise<void> => sleep(ms, undefined, { signal: abort.signal }).catch(() => {})
  let watcher: Awaited<ReturnType<KV['watch']>> | null = null
  const interval = Math.max(1, Math.floor(leaseMs / 3))

  async function watching (): Promise<void> {
    // eslint-disable-next-line no-unmodified-loop-condition -- stop() sets it while the loop awaits
    while (!stopped) {
      try {
        watcher = await kv.watch({ key: LEADER_KEY })
        // stop() may have run while the watch was being set up
        if (stopped) watcher.stop()
        for await (const entry of watcher) {
          if (stopped) break
          onLeader(decode(entry))
        }
      } catch (err) {
        if (!stopped) logger.warn({ err: (err as Error).message }, 'leader key watch failed; retrying')
      }
      watcher = null
      if (!stopped) await pause(interval)
    }
  }

  async function polling (): Promise<void> {
    // eslint-disable-next-line no-unmodified-loop-condition -- stop() sets it while the loop awaits
    while (!stopped) {
      try {
        const leader = await readLeader(kv)
        if (!stopped) onLeader(leader)
      } catch (err) {
        if (!stopped) logger.warn({ err: (err as Error).message }, 'cannot read the leader key')
      }
      if (!stopped) await pause(interval)
    }
  }

  const running = Promise.all([watching(), polling()])
  return {
    async stop () {
      stopped = true
      abort.abort()
      watcher?.stop()
      await running
    },
  }
}
