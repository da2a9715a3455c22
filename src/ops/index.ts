import type { WalEntry } from '../../protocol/entries.js'
import { openStorage, silentLogger } from '../../storage/index.js'
import type { Logger, StartupReport, WalStats } from '../../storage/index.js'
import { createBus, type BusStats } from '../bus/index.js'
import { createEngine } from '../engine/index.js'
import type { EngineStats, SnapshotLine } from '../engine/types.js'
import type { SessionServices } from '../session/index.js'
import { createCompactor } from './compaction.js'
import { createDispatcher } from './dispatcher.js'
import { DEFAULTS } from '../config/schema.js'
import type { DatabaseOptions } from './options.js'
import type { Readiness } from './types.js'

export { createDispatcher } from './dispatcher.js'
export type { DispatcherDeps } from './dispatcher.js'
export { createCompactor } from './compaction.js'
export type { CompactResult, Compactor } from './compaction.js'
export { DEFAULT_COMPACTION, DEFAULT_STORAGE } from './options.js'
export type { CompactionSection, DatabaseOptions, StorageSection } from './options.js'
export type { CallerInfo, Dispatch, OpOutcome, Readiness } from './types.js'

/** What the metrics read at scrape time. */
export interface DatabaseStats {
  engine: EngineStats
  wal: WalStats
  bus: BusStats
  /** cluster mode only (cluster.md §7) */
  cluster?: ClusterStats
}

/** What the cluster metrics of cluster.md §7 read. */
export interface ClusterStats {
  leader: boolean
  term: number
  applied_offset: number
  /** entries the stream holds beyond what this node has applied */
  lag_entries: number
  forwarded: number
  elections: number
}

/**
 * The services both faces are built on (architecture.md): the dispatcher, the
 * subscription bus, the heads, readiness and statistics. Nothing else of the
 * engine or the log is reachable from a face.
 */
export interface Database extends SessionServices {
  /** `wal_failed` once the log refuses writes (or the database is closed): /readyz answers 503 */
  readiness: () => Readiness
  stats: () => DatabaseStats
  /** the recovery report of storage.md §5 */
  readonly report: StartupReport
  /** stops automatic compaction, drains and fsyncs the log, releases the LOCK */
  close: () => Promise<void>
}

/**
 * Opens the data directory: takes the LOCK, recovers a fresh engine from the
 * newest full snapshot and the WAL (storage.md §5), and wires the dispatcher and
 * the bus. Throws LockHeldError or WalCorruptionError when the server must not start.
 */
export async function openDatabase (options: DatabaseOptions): Promise<Database> {
  const logger: Logger = options.logger ?? silentLogger
  const now = options.now ?? Date.now
  const cfg = options.storage
  const engine = createEngine({
    maxMachineVersions: cfg.max_machine_versions,
    idempotencyTtlSecs: cfg.idempotency_ttl_secs,
    idempotencyMaxKeys: cfg.idempotency_max_keys,
    now,
    warn: (message, fields) => { logger.warn(fields ?? {}, message) },
  })
  const storage = await openStorage({
    dataDir: cfg.data_dir,
    segmentSizeBytes: options.segmentSizeBytes ?? cfg.wal_segment_size_mb * 1024 * 1024,
    fsyncPolicy: cfg.fsync_policy,
    skipCorruptRecords: cfg.skip_corrupt_records,
    historyRetentionSecs: cfg.history_retention_secs,
    logger,
    files: options.files,
    releaseLock: options.releaseLock,
    target: {
      restore: (line) => { engine.restore(line as SnapshotLine) },
      apply: (entry: WalEntry, sequence: number) => { engine.apply(entry, sequence) },
      stats: () => engine.stats(),
    },
  })
  const compactor = createCompactor(engine, storage, options.compaction, logger, now)
  const dispatcher = createDispatcher({ engine, storage, compactor, history: storage, now, readWaitMs: options.readWaitMs ?? DEFAULTS.cluster.read_wait_ms })
  const bus = createBus({ log: storage, getInstance: id => engine.getInstance(id), queueLimit: options.queueLimit ?? DEFAULTS.subscriptions.queue_limit })
  let closed = false
  return {
    dispatch: dispatcher.dispatch,
    attach: bus.attach,
    head: storage.committedHead,
    isLeader: () => true,
    features: dispatcher.features,
    readiness: () => closed || storage.isFailed() ? 'wal_failed' : 'ok',
    stats: () => ({ engine: engine.stats(), wal: storage.stats(), bus: bus.stats() }),
    report: storage.report,
    async close () {
      if (closed) return
      closed = true
      await compactor.stop().catch(() => {})
      await storage.close()
    },
  }
}
