import type { WalEntry } from '../protocol/entries.js'
import { RcpError } from '../protocol/errors.js'
import type { FileLayer } from './file-layer.js'
import type { CommitListener, CommittedRecord } from './log.js'
import type { Logger } from './logger.js'
import { encodeRecord, FLAG_GROUP_CONT, stampRecord } from './record.js'
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

interface Waiter {
  seq: number
  resolve: () => void
  reject: (err: RcpError) => void
}

/** Records taken from the buffer for one write, in sequence order. */
interface Batch {
  buffers: Buffer[]
  records: CommittedRecord[]
  bytes: number
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
 * The single writer of storage.md §4. Appends are buffered and written once per
 * event-loop turn (setImmediate: every request the turn decoded rides one write),
 * with a synchronous write: the kernel has the bytes when it returns, so under
 * `never`, `every_ms` and `every_n` the batch commits at once, with no thread-pool
 * round trip. Only fdatasync goes to the pool; while one runs for `every_write`
 * (or the write completing N records for `every_n`), new appends stay buffered and
 * form the next batch: one write in flight, at most one fsync, group commit.
 * The every_ms timer's fsync commits nothing, so writes carry on beside it.
 */
export function createWalWriter (opts: WalWriterOptions): WalWriter {
  const { state, segmentSize, policy, files, logger } = opts
  let fd = opts.activeFd
  // appended, not yet written: the records' bytes and the records as commit hands them out
  let pendingBuffers: Buffer[] = []
  let pendingRecords: CommittedRecord[] = []
  let pendingBytes = 0
  let scheduled = false
  // a write, fsync or rotation whose end the next write must wait for
  let busy = false
  // the every_ms fsync, which runs beside writes
  let backgroundSync: Promise<void> | null = null
  let syncDue = false
  let unsynced = 0
  let failure: RcpError | null = null
  let closed = false
  // in sequence order; entries before waitHead are settled
  let waiters: Waiter[] = []
  let waitHead = 0
  let listeners: CommitListener[] = []
  let idleWaiters: Array<() => void> = []
  const timer = policy.kind === 'every_ms'
    ? setInterval(() => { syncDue = true; startBackgroundSync() }, policy.ms).unref()
    : null

  function append (entries: WalEntry[], group: boolean): number[] {
    if (failure !== null) throw walIoError()
    if (closed) throw new RcpError('WAL_IO_ERROR', 'WAL is closed')
    // encode all first: an oversized record throws before any sequence is given out
    const encoded = entries.map(encodeRecord)
    const sequences: number[] = new Array(encoded.length)
    for (let i = 0; i < encoded.length; i++) {
      const seq = ++state.lastAppended
      stampRecord(encoded[i], seq, group && i < encoded.length - 1)
      sequences[i] = seq
      pendingBuffers.push(encoded[i])
      pendingRecords.push({ sequence: seq, entry: entries[i] })
      pendingBytes += encoded[i].length
    }
    // while busy, the step that ends it writes what is pending
    if (encoded.length > 0 && !scheduled && !busy) {
      scheduled = true
      setImmediate(flushTurn)
    }
    return sequences
  }

  function flushTurn (): void {
    scheduled = false
    pump()
  }

  /** Writes buffered records until done or until it has to wait for an fsync or a rotation. */
  function pump (): void {
    while (!busy && failure === null) {
      if (pendingBuffers.length === 0) {
        startBackgroundSync()
        notifyIdle()
        return
      }
      const active = state.segments[state.segments.length - 1]
      const count = fittingRecords(active)
      if (count === 0) {
        wait(rotate(active))
        return
      }
      const batch = take(count)
      let written: number | Promise<number>
      try {
        written = files.writev(fd, batch.buffers)
        if (typeof written === 'number') {
          wrote(active, batch, written)
          continue
        }
      } catch (err) {
        fail(err)
        return
      }
      // an injected file layer may write asynchronously
      busy = true
      written.then((n) => {
        busy = false
        wrote(active, batch, n)
        pump()
      }).catch(fail)
      return
    }
  }

  /** Books a finished write; commits the batch now or after the fsync its policy requires. */
  function wrote (seg: SegmentInfo, batch: Batch, written: number): void {
    if (written !== batch.bytes) throw new Error(`short write: ${written} of ${batch.bytes} bytes`)
    let pos = seg.size
    for (let i = 0; i < batch.buffers.length; i++) {
      noteRecord(seg, batch.records[i].sequence, pos, batch.buffers[i].length)
      pos += batch.buffers[i].length
    }
    state.io.bytes_written += batch.bytes
    state.io.writes += batch.buffers.length
    unsynced += batch.buffers.length
    if (policy.kind === 'every_write' || (policy.kind === 'every_n' && unsynced >= policy.n)) {
      busy = true
      // commit, then write what arrived during the fsync before the waiters' continuations run
      datasync().then(() => {
        busy = false
        commit(batch)
        pump()
      }).catch(fail)
      return
    }
    commit(batch)
  }

  /** Runs an async step; the writer resumes when it ends. */
  function wait (step: Promise<void>): void {
    busy = true
    step.then(() => {
      busy = false
      pump()
    }).catch(fail)
  }

  /**
   * How many pending records, whole units only, go into the active segment before it
   * must rotate (storage.md §4): an atomic group stays in one segment, and a record or
   * group bigger than a segment goes alone into an empty one.
   */
  function fittingRecords (active: SegmentInfo): number {
    if (active.size + pendingBytes <= segmentSize) return pendingBuffers.length
    let bytes = active.size
    let fit = 0
    let unitBytes = 0
    for (let i = 0; i < pendingBuffers.length; i++) {
      unitBytes += pendingBuffers[i].length
      if ((pendingBuffers[i][5] & FLAG_GROUP_CONT) !== 0) continue
      if (bytes > 0 && bytes + unitBytes > segmentSize) break
      bytes += unitBytes
      unitBytes = 0
      fit = i + 1
    }
    return fit
  }

  function take (count: number): Batch {
    if (count === pendingBuffers.length) {
      const batch = { buffers: pendingBuffers, records: pendingRecords, bytes: pendingBytes }
      pendingBuffers = []
      pendingRecords = []
      pendingBytes = 0
      return batch
    }
    const buffers = pendingBuffers.splice(0, count)
    let bytes = 0
    for (const b of buffers) bytes += b.length
    pendingBytes -= bytes
    return { buffers, records: pendingRecords.splice(0, count), bytes }
  }

  async function datasync (): Promise<void> {
    const covered = unsynced
    state.io.fsyncs++
    await files.fdatasync(fd)
    unsynced -= covered
  }

  function startBackgroundSync (): void {
    if (!syncDue || unsynced === 0 || busy || backgroundSync !== null || failure !== null) return
    syncDue = false
    backgroundSync = datasync().then(() => {
      backgroundSync = null
      notifyIdle()
    }, (err: unknown) => {
      backgroundSync = null
      fail(err)
    })
  }

  async function rotate (sealed: SegmentInfo): Promise<void> {
    if (backgroundSync !== null) await backgroundSync
    if (failure !== null) throw failure
    if (policy.kind !== 'never') await datasync()
    await files.close(fd)
    fd = -1
    const next = newSegmentInfo(state.walDir, sealed.id + 1)
    fd = await files.openAppend(next.path)
    state.segments.push(next)
    await files.syncDir(state.walDir)
  }

  function commit (batch: Batch): void {
    const committed = batch.records[batch.records.length - 1].sequence
    state.lastCommitted = committed
    for (const listener of listeners) listener(batch.records)
    while (waitHead < waiters.length && waiters[waitHead].seq <= committed) waiters[waitHead++].resolve()
    if (waitHead === waiters.length) {
      waiters.length = 0
      waitHead = 0
    } else if (waitHead >= 1024) {
      waiters = waiters.slice(waitHead)
      waitHead = 0
    }
  }

  function waitFor (seq: number): Promise<void> {
    if (seq <= state.lastCommitted) return RESOLVED
    if (failure !== null) return Promise.reject(walIoError())
    return new Promise((resolve, reject) => {
      const waiter = { seq, resolve, reject }
      let i = waiters.length
      // almost always appended at the end: waits come in sequence order
      while (i > waitHead && waiters[i - 1].seq > seq) i--
      if (i === waiters.length) waiters.push(waiter)
      else waiters.splice(i, 0, waiter)
    })
  }

  function fail (err: unknown): void {
    if (failure === null) {
      failure = walIoError(err)
      logger.error({ err, last_committed: state.lastCommitted, last_appended: state.lastAppended }, 'WAL write failed; refusing writes until restart')
    }
    pendingBuffers = []
    pendingRecords = []
    pendingBytes = 0
    const rejected = waiters.slice(waitHead)
    waiters = []
    waitHead = 0
    for (const w of rejected) w.reject(failure)
    notifyIdle()
  }

  function isIdle (): boolean {
    return failure !== null || (!busy && backgroundSync === null && pendingBuffers.length === 0)
  }

  function notifyIdle (): void {
    if (idleWaiters.length === 0 || !isIdle()) return
    const done = idleWaiters
    idleWaiters = []
    for (const resolve of done) resolve()
  }

  async function close (): Promise<void> {
    if (closed) return
    closed = true
    if (timer !== null) clearInterval(timer)
    pump()
    if (!isIdle()) await new Promise<void>((resolve) => { idleWaiters.push(resolve) })
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
      listeners = [...listeners, listener]
      return () => { listeners = listeners.filter((l) => l !== listener) }
    },
    isFailed: () => failure !== null,
    close,
  }
}
