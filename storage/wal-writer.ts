import type { WalEntry } from '../protocol/entries.js'
import { RcpError } from '../protocol/errors.js'
import type { FileLayer } from './file-layer.js'
import type { CommitListener, CommittedRecord } from './log.js'
import type { Logger } from './logger.js'
import { encodeRecord, readSequence, stampRecord } from './record.js'
import { newSegmentInfo, noteRecord } from './segments.js'
import type { SegmentInfo } from './segments.js'

export type FsyncPolicy =
  | { kind: 'every_write' }
  | { kind: 'every_n', n: number }
  | { kind: 'every_ms', ms: number }
  | { kind: 'never' }

export function formatFsyncPolicy (policy: FsyncPolicy): string {
  if (policy.kind === 'every_n') return `every_n:${policy.n}`
  if (policy.kind === 'every_ms') return `every_ms:${policy.ms}`
  return policy.kind
}

export interface IoStats {
  bytes_written: number
  bytes_read: number
  writes: number
  reads: number
  fsyncs: number
}

/** State shared by the writer, the committed-records reader and compaction. */
export interface WalState {
  walDir: string
  /** ascending by id; the last one is the active segment */
  segments: SegmentInfo[]
  /** highest sequence given out (the head, counting a full snapshot's S) */
  lastAppended: number
  lastCommitted: number
  io: IoStats
}

/** Records of one append: one record, or an atomic group that must stay in one write and one segment. */
interface Unit {
  records: Buffer[]
  entries: WalEntry[]
  bytes: number
  lastSeq: number
}

interface Waiter {
  seq: number
  resolve: () => void
  reject: (err: RcpError) => void
}

export interface WalWriterOptions {
  state: WalState
  segmentSize: number
  policy: FsyncPolicy
  files: FileLayer
  logger: Logger
  /** descriptor of the active segment, opened for appending */
  activeFd: number
}

export interface WalWriter {
  /**
   * Encodes and numbers the entries synchronously (throws BAD_REQUEST for an
   * oversized record before numbering anything, WAL_IO_ERROR in the failed state).
   */
  append: (entries: WalEntry[], group: boolean) => number[]
  /** resolves once `sequence` has committed; rejects with WAL_IO_ERROR if its write or fsync failed */
  waitFor: (sequence: number) => Promise<void>
  onCommit: (listener: CommitListener) => () => void
  isFailed: () => boolean
  /** drains the buffer, fsyncs (every policy) and closes the active segment */
  close: () => Promise<void>
}

export function walIoError (cause?: unknown): RcpError {
  const reason = cause instanceof Error ? cause.message : undefined
  return new RcpError('WAL_IO_ERROR', reason === undefined ? 'WAL is in failed state; restart required' : `WAL I/O error: ${reason}`)
}

const RESOLVED = Promise.resolve()

/**
 * The single writer of storage.md §4: at most one write (and, under every_write,
 * one fdatasync) in flight; each write takes everything buffered since the
 * previous one began, so concurrent appends share fsyncs (group commit).
 */
export function createWalWriter (opts: WalWriterOptions): WalWriter {
  const { state, segmentSize, policy, files, logger } = opts
  let fd = opts.activeFd
  let queue: Unit[] = []
  let waiters: Waiter[] = []
  const listeners = new Set<CommitListener>()
  let running = false
  let syncRequested = false
  let unsynced = 0
  let failure: RcpError | null = null
  let closed = false
  let idle: (() => void) | null = null
  const timer = policy.kind === 'every_ms'
    ? setInterval(() => { if (unsynced > 0) { syncRequested = true; kick() } }, policy.ms).unref()
    : null

  function append (entries: WalEntry[], group: boolean): number[] {
    if (failure !== null) throw walIoError()
    if (closed) throw new RcpError('WAL_IO_ERROR', 'WAL is closed')
    const records = entries.map(encodeRecord)
    const sequences: number[] = new Array(records.length)
    let bytes = 0
    for (let i = 0; i < records.length; i++) {
      const seq = ++state.lastAppended
      stampRecord(records[i], seq, group && i < records.length - 1)
      sequences[i] = seq
      bytes += records[i].length
    }
    if (records.length === 0) return sequences
    if (group) {
      queue.push({ records, entries, bytes, lastSeq: state.lastAppended })
    } else {
      for (let i = 0; i < records.length; i++) {
        queue.push({ records: [records[i]], entries: [entries[i]], bytes: records[i].length, lastSeq: sequences[i] })
      }
    }
    kick()
    return sequences
  }

  function waitFor (seq: number): Promise<void> {
    if (seq <= state.lastCommitted) return RESOLVED
    if (failure !== null) return Promise.reject(walIoError())
    return new Promise((resolve, reject) => {
      let i = waiters.length
      while (i > 0 && waiters[i - 1].seq > seq) i--
      waiters.splice(i, 0, { seq, resolve, reject })
    })
  }

  function kick (): void {
    if (!running && failure === null && (queue.length > 0 || syncRequested)) void run()
  }

  async function run (): Promise<void> {
    running = true
    try {
      while (failure === null && (queue.length > 0 || syncRequested)) {
        if (queue.length === 0) {
          syncRequested = false
          await datasync()
          continue
        }
        const batch = queue
        queue = []
        await writeBatch(batch)
        if (policy.kind === 'every_write' || (policy.kind === 'every_n' && unsynced >= policy.n)) await datasync()
        commit(batch)
        // the every_ms timer must not starve under a steady stream of batches
        if (syncRequested && unsynced > 0) {
          syncRequested = false
          await datasync()
        }
      }
    } catch (err) {
      fail(err)
    } finally {
      running = false
      if (idle !== null) idle()
    }
  }

  async function writeBatch (batch: Unit[]): Promise<void> {
    let active = state.segments[state.segments.length - 1]
    let chunk: Buffer[] = []
    let chunkBytes = 0
    for (const unit of batch) {
      if (active.size + chunkBytes > 0 && active.size + chunkBytes + unit.bytes > segmentSize) {
        if (chunk.length > 0) await writeChunk(active, chunk, chunkBytes)
        chunk = []
        chunkBytes = 0
        active = await rotate(active)
      }
      for (const record of unit.records) chunk.push(record)
      chunkBytes += unit.bytes
    }
    await writeChunk(active, chunk, chunkBytes)
  }

  async function writeChunk (seg: SegmentInfo, chunk: Buffer[], bytes: number): Promise<void> {
    const written = await files.writev(fd, chunk)
    if (written !== bytes) throw new Error(`short write: ${written} of ${bytes} bytes`)
    let pos = seg.size
    for (const record of chunk) {
      noteRecord(seg, readSequence(record, 0), pos, record.length)
      pos += record.length
    }
    state.io.bytes_written += bytes
    state.io.writes += chunk.length
    unsynced += chunk.length
  }

  async function datasync (): Promise<void> {
    state.io.fsyncs++
    await files.fdatasync(fd)
    unsynced = 0
  }

  async function rotate (sealed: SegmentInfo): Promise<SegmentInfo> {
    if (policy.kind !== 'never') await datasync()
    await files.close(fd)
    fd = -1
    const next = newSegmentInfo(state.walDir, sealed.id + 1)
    fd = await files.openAppend(next.path)
    state.segments.push(next)
    await files.syncDir(state.walDir)
    return next
  }

  function commit (batch: Unit[]): void {
    state.lastCommitted = batch[batch.length - 1].lastSeq
    if (listeners.size > 0) {
      const records: CommittedRecord[] = []
      for (const unit of batch) {
        const first = unit.lastSeq - unit.entries.length + 1
        for (let i = 0; i < unit.entries.length; i++) records.push({ sequence: first + i, entry: unit.entries[i] })
      }
      for (const listener of listeners) listener(records)
    }
    let n = 0
    while (n < waiters.length && waiters[n].seq <= state.lastCommitted) n++
    if (n === 0) return
    const done = waiters.slice(0, n)
    waiters = waiters.slice(n)
    for (const w of done) w.resolve()
  }

  function fail (err: unknown): void {
    failure = walIoError(err)
    logger.error({ err, last_committed: state.lastCommitted, last_appended: state.lastAppended }, 'WAL write failed; refusing writes until restart')
    queue = []
    const rejected = waiters
    waiters = []
    for (const w of rejected) w.reject(failure)
  }

  async function close (): Promise<void> {
    if (closed) return
    closed = true
    if (timer !== null) clearInterval(timer)
    if (running) await new Promise<void>((resolve) => { idle = resolve })
    idle = null
    try {
      if (failure === null && unsynced > 0) await datasync()
    } catch (err) {
      fail(err)
    }
    if (fd >= 0) await files.close(fd).catch(() => {})
    fd = -1
  }

  return {
    append,
    waitFor,
    onCommit: (listener) => {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    isFailed: () => failure !== null,
    close,
  }
}
