import type { FileLayer, Logger } from '../../storage/index.js'
import type { CompactionSection, StorageSection } from '../config/schema.js'

// The sections and their defaults are declared once, in the config schema.
export { DEFAULT_COMPACTION, DEFAULT_STORAGE, type CompactionSection, type StorageSection } from '../config/schema.js'

/**
 * Options of openDatabase: the `storage` and `compaction` sections of config.md
 * with the same keys, so main can hand its parsed config over as is.
 */
export interface DatabaseOptions {
  storage: StorageSection
  compaction: CompactionSection
  logger?: Logger
  /** overrides wal_segment_size_mb with an exact byte count (tests, benchmarks) */
  segmentSizeBytes?: number
  /** replaced by tests to inject write and fsync faults */
  files?: FileLayer
  /** Unix ms; injectable so tests control time */
  now?: () => number
  /** subscriptions.queue_limit (the config default when left out) */
  queueLimit?: number
  /** how long a read with `min_offset` waits (cluster.read_wait_ms; the config default when left out) */
  readWaitMs?: number
  /** releases the data directory LOCK the caller took with lockDataDir (else openDatabase takes it) */
  releaseLock?: () => void
}
