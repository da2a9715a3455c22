import type { WalEntry } from '../../protocol/entries.js'
import { openStorage, silentLogger } from '../../storage/index.js'
import type { Logger, StartupReport, Storage } from '../../storage/index.js'
import { createEngine } from '../engine/index.js'
import type { Engine, SnapshotLine } from '../engine/types.js'
import { createCompactor } from './compaction.js'
import type { Compactor } from './compaction.js'
import { createDispatcher } from './dispatcher.js'
import type { DatabaseOptions } from './options.js'
import type { Dispatcher } from './types.js'

export { createDispatcher } from './dispatcher.js'
export type { DispatcherDeps } from './dispatcher.js'
export { createCompactor } from './compaction.js'
export type { CompactResult, Compactor } from './compaction.js'
export { DEFAULT_COMPACTION, DEFAULT_STORAGE } from './options.js'
export type { CompactionSection, DatabaseOptions, StorageSection } from './options.js'

export interface Database {
  dispatcher: Dispatcher
  engine: Engine
  /** also the CommittedLog of the subscription bus */
  storage: Storage
  compactor: Compactor
  report: StartupReport
  /** false once the WAL has failed (or the database is closed): /readyz answers 503 */
  isWritable: () => boolean
  /** stops automatic compaction, drains and fsyncs the WAL, releases the LOCK */
  close: () => Promise<void>
}

/**
 * Opens the data directory: takes the LOCK, recovers a fresh engine from the
 * newest full snapshot and the WAL (storage.md §5), and wires the dispatcher.
 * Throws LockHeldError or WalCorruptionError when the server must not start.
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
    logger,
    files: options.files,
    target: {
      restore: (line) => { engine.restore(line as SnapshotLine) },
      apply: (entry: WalEntry, sequence: number) => { engine.apply(entry, sequence) },
      stats: () => engine.stats(),
    },
  })
  const compactor = createCompactor(engine, storage, options.compaction, logger, now)
  const dispatcher = createDispatcher({ engine, storage, compactor, now })
  let closed = false
  return {
    dispatcher,
    engine,
    storage,
    compactor,
    report: storage.report,
    isWritable: () => !closed && !storage.isFailed(),
    async close () {
      if (closed) return
      closed = true
      await compactor.stop().catch(() => {})
      await storage.close()
    },
  }
}
