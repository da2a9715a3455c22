import type { Engine, SnapshotLine } from '../engine/types.js'
import type { JsonObject } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
import type { Logger, Storage } from '../../storage/index.js'
import type { CompactionSection } from './options.js'

export interface CompactResult extends JsonObject {
  snapshots_created: number
  segments_deleted: number
  bytes_reclaimed: number
  total_snapshots: number
  wal_segments: number
}

export interface Compactor {
  /** COMPACT: runs storage.md §7 after any compaction in progress */
  compact: (forceSnapshot: boolean) => Promise<CompactResult>
  /** counts appended records toward events_threshold */
  noteAppended: (records: number) => void
  /** stops the automatic check and waits for a running compaction */
  stop: () => Promise<void>
}

const CHECK_INTERVAL_MS = 10_000

/** What compaction needs of storage: full snapshots, the compaction of the log, stats; the local WAL or the JetStream log. */
export type CompactorStorage = Pick<Storage,
  'latestSnapshot' | 'appendedHead' | 'waitFor' | 'writeSnapshot' | 'compactSegments' | 'pruneSnapshots' | 'instanceSnapshots' | 'isFailed' | 'stats'>

export function createCompactor (engine: Engine, storage: CompactorStorage, options: CompactionSection, logger: Logger, now: () => number): Compactor {
  let chain: Promise<unknown> = Promise.resolve()
  let running = 0
  let appendedSince = 0
  let lastCompaction = now()
  let stopped = false
  let checkQueued = false
  const auto = options.enabled && (options.events_threshold > 0 || options.size_threshold_mb > 0)
  const timer = auto ? setInterval(check, CHECK_INTERVAL_MS).unref() : null

  async function run (force: boolean): Promise<CompactResult> {
    appendedSince = 0
    lastCompaction = now()
    const previous = storage.latestSnapshot()
    const P = previous?.header.last_sequence ?? 0
    const S = storage.appendedHead()
    let created = 0
    let wrote = false
    if (S > P || force) {
      // frozen view taken in the same turn as S: exactly the records ≤ S
      const view = engine.snapshotLines()
      const all = force || previous === null
      await storage.waitFor(S)
      const counted = (function * (): Iterable<SnapshotLine> {
        for (const line of view) {
          if (line.t === 'instance' && !line.deleted && (all || line.last_wal_offset > P)) created++
          yield line
        }
      })()
      try {
        await storage.writeSnapshot(counted, S, now())
      } catch (err) {
        logger.error({ err }, 'full snapshot failed')
        throw new RcpError('INTERNAL_ERROR', `snapshot I/O error: ${(err as Error).message}`)
      }
      wrote = true
    }
    try {
      const segments = await storage.compactSegments()
      if (wrote) {
        await storage.pruneSnapshots()
        await storage.instanceSnapshots.prune((id) => engine.getInstance(id)?.deleted !== false)
      }
      return {
        snapshots_created: created,
        segments_deleted: segments.segments_deleted,
        bytes_reclaimed: segments.bytes_reclaimed,
        total_snapshots: storage.latestSnapshot()?.liveInstances ?? 0,
        wal_segments: segments.wal_segments,
      }
    } catch (err) {
      logger.error({ err }, 'compaction failed')
      throw new RcpError('INTERNAL_ERROR', `compaction I/O error: ${(err as Error).message}`)
    }
  }

  function compact (force: boolean): Promise<CompactResult> {
    running++
    const next = chain.then(() => run(force)).finally(() => { running-- })
    chain = next.catch(() => {})
    return next
  }

  function check (): void {
    if (stopped || running > 0 || storage.isFailed()) return
    if (now() - lastCompaction < options.min_interval_secs * 1000) return
    const byEvents = options.events_threshold > 0 && appendedSince >= options.events_threshold
    const bySize = options.size_threshold_mb > 0 && storage.stats().total_size_bytes >= options.size_threshold_mb * 1024 * 1024
    if (!byEvents && !bySize) return
    compact(false).then(
      (result) => { logger.info({ ...result, trigger: byEvents ? 'events' : 'size' }, 'automatic compaction done') },
      (err) => { logger.error({ err }, 'automatic compaction failed') })
  }

  return {
    compact,
    noteAppended (records) {
      appendedSince += records
      if (!auto || checkQueued || options.events_threshold === 0 || appendedSince < options.events_threshold) return
      checkQueued = true
      setImmediate(() => {
        checkQueued = false
        check()
      })
    },
    async stop () {
      stopped = true
      if (timer !== null) clearInterval(timer)
      await chain
    },
  }
}
