import type { FullSnapshotInfo, SnapshotLine } from '../full-snapshot.js'
import type { SegmentCompaction, WalStats } from '../index.js'
import type { InstanceSnapshots } from '../instance-snapshots.js'
import type { JetStreamLog } from './log.js'
import type { SnapshotObject, SnapshotStore } from './snapshots.js'

/** Kept generations of full snapshots (storage.md §7). */
const GENERATIONS = 2

export interface ClusterStoreOptions {
  log: JetStreamLog
  snapshots: SnapshotStore
  instanceSnapshots: InstanceSnapshots
  /** the full snapshots held at start, newest first */
  generations: SnapshotObject[]
  /** what the newest snapshot held, when it was loaded */
  newest: FullSnapshotInfo | null
}

/** What the dispatcher, the compactor and the bus use of the local WAL's Storage, over the stream and the object store. */
export interface ClusterStore extends JetStreamLog {
  readonly log: JetStreamLog
  /** WAL_STATS (storage.md §8) of the stream as last refreshed */
  stats: () => WalStats
  latestSnapshot: () => FullSnapshotInfo | null
  writeSnapshot: (lines: Iterable<SnapshotLine>, lastSequence: number, now: number) => Promise<FullSnapshotInfo>
  /** purges the stream below the older snapshot generation (cluster.md §6), honouring pins */
  compactSegments: () => Promise<SegmentCompaction>
  /** deletes full snapshots older than the two newest */
  pruneSnapshots: () => Promise<number>
  readonly instanceSnapshots: InstanceSnapshots
  /** reads which snapshots the store holds (another node may have led since) */
  refreshSnapshots: () => Promise<void>
}

/**
 * The DatabaseLog of cluster mode: the JetStream log, full snapshots in the object
 * store, compaction by purging the stream below the older snapshot generation
 * (cluster.md §6), and per-instance snapshots in the object store.
 */
export function createClusterStore (opts: ClusterStoreOptions): ClusterStore {
  const { log, snapshots } = opts
  let generations = opts.generations.slice(0, GENERATIONS)
  let newest = opts.newest

  return {
    ...log,
    log,
    stats () {
      const s = log.streamState()
      const committed = log.committedHead()
      return {
        entry_count: s.messages,
        // the stream is one log; JetStream's own block files are not ours to count
        segment_count: s.messages > 0 ? 1 : 0,
        total_size_bytes: s.bytes,
        latest_offset: committed === 0 ? null : committed,
        io_stats: { ...log.io },
        earliest_offset: log.earliestOffset(),
        fsync_policy: 'jetstream',
      }
    },
    latestSnapshot: () => newest,
    async writeSnapshot (lines, lastSequence, now) {
      const info = await snapshots.write(lines, lastSequence, now, log.terms.termBefore(lastSequence + 1))
      const written: SnapshotObject = { name: info.file, lastSequence, term: log.terms.termBefore(lastSequence + 1) }
      generations = [written, ...generations.filter((g) => g.name !== written.name)].slice(0, GENERATIONS)
      newest = info
      return info
    },
    async compactSegments () {
      const older = generations[GENERATIONS - 1]
      const before = log.streamState().bytes
      const purged = older === undefined ? 0 : await log.purgeBelow(older.lastSequence + 1)
      return {
        segments_deleted: purged,
        bytes_reclaimed: purged === 0 ? 0 : Math.max(0, before - log.streamState().bytes),
        wal_segments: log.streamState().messages > 0 ? 1 : 0,
      }
    },
    async pruneSnapshots () {
      const keep = new Set(generations.map((g) => g.name))
      let removed = 0
      for (const s of await snapshots.list()) {
        if (keep.has(s.name) || s.lastSequence > (generations[0]?.lastSequence ?? 0)) continue
        await snapshots.remove(s.name)
        removed++
      }
      return removed
    },
    instanceSnapshots: opts.instanceSnapshots,
    async refreshSnapshots () {
      const held = (await snapshots.list()).slice(0, GENERATIONS)
      if (held[0]?.name !== generations[0]?.name) newest = null
      generations = held
    },
  }
}
