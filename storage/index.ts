import fs from 'node:fs'
import path from 'node:path'
import { nodeFileLayer, syncDir } from './file-layer.js'
import type { FileLayer } from './file-layer.js'
import { listFullSnapshots, writeFullSnapshot } from './full-snapshot.js'
import type { FullSnapshotInfo, SnapshotLine } from './full-snapshot.js'
import { createInstanceSnapshots } from './instance-snapshots.js'
import type { InstanceSnapshots } from './instance-snapshots.js'
import { createWalHistory } from './history.js'
import { HistoryIndex } from './history-index.js'
import { acquireLock } from './lock.js'
import { silentLogger } from './logger.js'
import type { Logger } from './logger.js'
import { recover } from './recovery.js'
import type { RecoveryTarget, StartupReport } from './recovery.js'
import { newSegmentInfo } from './segments.js'
import { readCommitted } from './wal-reader.js'
import type { ReadResult } from './wal-reader.js'
import { createWalWriter, formatFsyncPolicy } from './wal-writer.js'
import type { FsyncPolicy, IoStats, WalState } from './wal-writer.js'
import type { HistorySource, Log } from './log.js'
import { createWaiters } from './waiters.js'

export { encodeRecord, HEADER_SIZE, FLAG_GROUP_CONT } from './record.js'
export { segmentName } from './segments.js'
export { LockHeldError } from './lock.js'
export { WalCorruptionError } from './recovery.js'
export type { RecoveryTarget, StartupReport, Truncation } from './recovery.js'
export { SnapshotCorruptError, readFullSnapshot, fullSnapshotName } from './full-snapshot.js'
export type { FullSnapshotInfo, SnapshotLine } from './full-snapshot.js'
export type { InstanceSnapshotResult } from './instance-snapshots.js'
export { nodeFileLayer } from './file-layer.js'
export type { FileLayer } from './file-layer.js'
export type { Logger } from './logger.js'
export { silentLogger } from './logger.js'
export { formatFsyncPolicy } from './wal-writer.js'
export type { FsyncPolicy, IoStats } from './wal-writer.js'
export type { CommitListener, CommittedRecord, HistoryPage, HistoryQuery, HistorySource, Log, Pin, SkipListener } from './log.js'
export { HistoryIndex } from './history-index.js'
export type { ReadResult } from './wal-reader.js'

export interface StorageOptions {
  dataDir: string
  /** wal_segment_size_mb × 1 MiB; any byte count in tests */
  segmentSizeBytes: number
  fsyncPolicy: FsyncPolicy
  skipCorruptRecords: boolean
  /** history.md §1: compaction keeps a segment until its newest record is this old; 0 (default) = no time rule */
  historyRetentionSecs?: number
  /** recovery replays into it (the engine) */
  target: RecoveryTarget
  logger?: Logger
  /** replaced by tests to inject write and fsync faults */
  files?: FileLayer
  /** releases a LOCK the caller already took with lockDataDir (else openStorage takes it) */
  releaseLock?: () => void
}

/** WAL_STATS fields (storage.md §8). */
export interface WalStats {
  entry_count: number
  segment_count: number
  total_size_bytes: number
  latest_offset: number | null
  io_stats: IoStats
  earliest_offset: number
  fsync_policy: string
}

export interface SegmentCompaction {
  segments_deleted: number
  bytes_reclaimed: number
  wal_segments: number
}

/** The local WAL (storage.md): the Log of single-node mode, with its snapshots, compaction and history. */
export interface Storage extends Log, HistorySource {
  readonly report: StartupReport
  read: (fromOffset: number, limit: number, maxBytes: number) => Promise<ReadResult>
  stats: () => WalStats
  /** the newest full snapshot (null when none) */
  latestSnapshot: () => FullSnapshotInfo | null
  /** streams a full snapshot of committed state ≤ lastSequence and makes it the newest generation */
  writeSnapshot: (lines: Iterable<SnapshotLine>, lastSequence: number, now: number) => Promise<FullSnapshotInfo>
  /**
   * §7 step 2: deletes sealed segments covered by the older retained snapshot whose newest
   * record is older than the history retention at `now` (Unix ms), oldest first, honouring pins
   */
  compactSegments: (now: number) => Promise<SegmentCompaction>
  /** §7 step 3: deletes full snapshots older than the two newest */
  pruneSnapshots: () => Promise<number>
  readonly instanceSnapshots: InstanceSnapshots
  /** drains and fsyncs the WAL, closes it and releases the LOCK */
  close: () => Promise<void>
}

/**
 * Creates the data directory if missing and takes its LOCK (storage.md §1); returns the
 * release function. Throws LockHeldError while another live process holds it.
 */
export function lockDataDir (dir: string, logger: Logger = silentLogger): () => void {
  const dataDir = path.resolve(dir)
  fs.mkdirSync(dataDir, { recursive: true })
  return acquireLock(dataDir, logger)
}

/** Takes the LOCK (unless given), recovers (storage.md §5) into `target`, and opens the WAL for appending. */
export async function openStorage (opts: StorageOptions): Promise<Storage> {
  const logger = opts.logger ?? silentLogger
  const files = opts.files ?? nodeFileLayer
  const dataDir = path.resolve(opts.dataDir)
  const releaseLock = opts.releaseLock ?? lockDataDir(dataDir, logger)
  try {
    return await open(opts, dataDir, logger, files, releaseLock)
  } catch (err) {
    releaseLock()
    throw err
  }
}

async function open (opts: StorageOptions, dataDir: string, logger: Logger, files: FileLayer, releaseLock: () => void): Promise<Storage> {
  const walDir = path.join(dataDir, 'wal')
  const snapDir = path.join(dataDir, 'snapshots')
  const index = new HistoryIndex()
  const recovered = await recover({ dataDir, skipCorruptRecords: opts.skipCorruptRecords, logger, target: opts.target, index })
  const segments = recovered.segments
  const last = segments[segments.length - 1]
  let activeFd: number
  if (last !== undefined && !recovered.sealLast && last.size < opts.segmentSizeBytes) {
    activeFd = await files.openAppend(last.path)
  } else {
    const next = newSegmentInfo(walDir, last === undefined ? 1 : last.id + 1)
    activeFd = await files.openAppend(next.path)
    segments.push(next)
    await files.syncDir(walDir)
  }
  const state: WalState = {
    walDir,
    segments,
    lastAppended: recovered.head,
    lastCommitted: recovered.head,
    io: { bytes_written: 0, bytes_read: recovered.bytesRead, writes: 0, reads: 1, fsyncs: 0 },
  }
  const writer = createWalWriter({ state, segmentSize: opts.segmentSizeBytes, policy: opts.fsyncPolicy, files, logger, activeFd })
  const committedWaiters = createWaiters()
  // the first listener: a record is in the history before any watcher hears of it
  writer.onCommit((records) => {
    for (const { sequence, entry } of records) index.addEntry(sequence, entry)
    if (committedWaiters.size > 0) committedWaiters.reached(state.lastCommitted)
  })
  // newest first; the two retained generations of §7
  let snapshots: FullSnapshotInfo[] = recovered.snapshots
  const pins = new Set<{ sequence: number }>()

  const earliestOffset = (): number => {
    for (const seg of state.segments) if (seg.records > 0) return seg.firstSeq
    // nothing on disk: records still in the write buffer will be retained, so the earliest is the committed head + 1
    return state.lastCommitted + 1
  }

  async function compactSegments (now: number): Promise<SegmentCompaction> {
    const s0 = snapshots.length > 1 ? snapshots[1].header.last_sequence : 0
    const retention = opts.historyRetentionSecs ?? 0
    const retainedSince = retention > 0 ? now - retention * 1000 : Infinity
    const minPin = (): number => {
      let min = Infinity
      for (const p of pins) min = Math.min(min, p.sequence)
      return min
    }
    let deleted = 0
    let reclaimed = 0
    while (state.segments.length > 1) {
      const seg = state.segments[0]
      if (seg.lastSeq > s0 || seg.lastTs >= retainedSince) break
      const { size } = await fs.promises.stat(seg.path)
      // pins are checked and the segment leaves the list in the same turn, so a
      // subscriber that pinned during the await above is honoured
      if (seg.records > 0 && seg.lastSeq >= minPin()) break
      state.segments.shift()
      // before the file goes: a history read plans only offsets that are still there
      index.dropBefore(earliestOffset())
      await fs.promises.rm(seg.path)
      deleted++
      reclaimed += size
    }
    if (deleted > 0) {
      await syncDir(walDir)
      await index.release()
    }
    return { segments_deleted: deleted, bytes_reclaimed: reclaimed, wal_segments: state.segments.length }
  }

  async function pruneSnapshots (): Promise<number> {
    const keep = new Set(snapshots.map((s) => s.file))
    let removed = 0
    for (const { file } of listFullSnapshots(snapDir)) {
      if (keep.has(file)) continue
      await fs.promises.rm(file, { force: true })
      removed++
    }
    if (removed > 0) await syncDir(snapDir)
    return removed
  }

  return {
    report: recovered.report,
    append: writer.append,
    waitFor: writer.waitFor,
    onCommit: writer.onCommit,
    read: (fromOffset, limit, maxBytes) => readCommitted(state, fromOffset, limit, maxBytes),
    instanceHistory: createWalHistory(state, index).instanceHistory,
    pin (sequence) {
      const pin = { sequence }
      pins.add(pin)
      return {
        advance: (seq) => { pin.sequence = seq },
        release: () => { pins.delete(pin) },
      }
    },
    appendedHead: () => state.lastAppended,
    committedHead: () => state.lastCommitted,
    untilCommitted: (sequence, timeoutMs) => state.lastCommitted >= sequence ? Promise.resolve(true) : committedWaiters.add(sequence, timeoutMs),
    earliestOffset,
    isFailed: writer.isFailed,
    stats: () => ({
      entry_count: state.segments.reduce((n, s) => n + s.records, 0),
      segment_count: state.segments.length,
      total_size_bytes: state.segments.reduce((n, s) => n + s.size, 0),
      latest_offset: state.lastCommitted === 0 ? null : state.lastCommitted,
      io_stats: { ...state.io },
      earliest_offset: earliestOffset(),
      fsync_policy: formatFsyncPolicy(opts.fsyncPolicy),
    }),
    latestSnapshot: () => snapshots[0] ?? null,
    async writeSnapshot (lines, lastSequence, now) {
      const info = await writeFullSnapshot(snapDir, lines, lastSequence, now)
      snapshots = [info, ...snapshots.filter((s) => s.file !== info.file)].slice(0, 2)
      return info
    },
    compactSegments,
    pruneSnapshots,
    instanceSnapshots: createInstanceSnapshots(path.join(snapDir, 'instances'), logger),
    async close () {
      await writer.close()
      committedWaiters.clear()
      releaseLock()
    },
  }
}
