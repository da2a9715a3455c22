import type { FileLayer, FsyncPolicy, Logger } from '../../storage/index.js'

/**
 * Options of openDatabase: the `storage` and `compaction` sections of config.md
 * with the same keys, so main can hand its parsed config over as is.
 */
export interface StorageSection {
  data_dir: string
  wal_segment_size_mb: number
  fsync_policy: FsyncPolicy
  max_machine_versions: number
  skip_corrupt_records: boolean
  idempotency_ttl_secs: number
  idempotency_max_keys: number
}

export interface CompactionSection {
  enabled: boolean
  events_threshold: number
  size_threshold_mb: number
  min_interval_secs: number
}

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
  /** subscriptions.queue_limit (default 10,000) */
  queueLimit?: number
}

export const DEFAULT_STORAGE: StorageSection = {
  data_dir: './data',
  wal_segment_size_mb: 64,
  fsync_policy: { kind: 'every_write' },
  max_machine_versions: 0,
  skip_corrupt_records: false,
  idempotency_ttl_secs: 86_400,
  idempotency_max_keys: 1_000_000,
}

export const DEFAULT_COMPACTION: CompactionSection = {
  enabled: true,
  events_threshold: 10_000,
  size_threshold_mb: 100,
  min_interval_secs: 60,
}

export const DEFAULT_QUEUE_LIMIT = 10_000
