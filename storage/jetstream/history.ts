import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import { RcpError } from '../../protocol/errors.js'
import { HistoryIndex } from '../history-index.js'
import type { CommittedRecord, HistorySource } from '../log.js'
import type { Logger } from '../logger.js'
import { startApplier } from './applier.js'
import type { Applier } from './applier.js'
import type { JetStreamLog } from './log.js'
import { patiently } from './patience.js'
import { decodeRecord } from './records.js'
import { fetchMessages, PurgedError, RECORD_HEADER_BYTES, WINDOW } from './reader.js'
import { createTermFilter } from './terms.js'

/**
 * History of one instance from the stream (history.md §1–3 over cluster.md §2): the single
 * node's per-instance offset index, fed by this node's commits (so it holds exactly the
 * records that took effect, the same on every node), names a page's offsets; the records are
 * then fetched from the stream by sequence. A page of N entries costs N message gets however
 * many entries the instance or the stream holds, and `at_offset` one.
 *
 * A node starts from a snapshot, so the retained stream below it never commits here: it is
 * indexed by reading it once at start (and after loading a newer snapshot, for the offsets
 * skipped). Commits arriving meanwhile are held back, as the index takes offsets in order.
 */

export interface StreamHistoryOptions {
  js: JetStreamClient
  jsm: JetStreamManager
  stream: string
  log: JetStreamLog
  logger: Logger
}

export interface StreamHistory extends HistorySource {
  /**
   * Indexes the records of `from` … `to` that took effect (retained ones only): offsets this
   * node never commits because a snapshot held them. Rejects when the stream could not be read.
   */
  backfill: (from: number, to: number) => Promise<void>
  /** Follows compaction: offsets the stream no longer holds leave the index. */
  trim: () => void
  close: () => Promise<void>
}

/** A page is planned again after a purge removed part of it; more than this in a row is an I/O problem. */
const ATTEMPTS = 3
/** Reading the retained stream must make progress at least this often. */
const SCAN_STALL_MS = 30_000

function within (done: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(resolve, ms, false) })
  return Promise.race([done.then(() => true), late]).finally(() => clearTimeout(timer))
}

export function createStreamHistory ({ js, jsm, stream, log, logger }: StreamHistoryOptions): StreamHistory {
  const index = new HistoryIndex()
  let floor = 0
  /** commits held back while a backfill indexes older offsets */
  let held: CommittedRecord[] | null = null
  let backfills = 0
  let chain: Promise<void> = Promise.resolve()
  let closed = false
  let stopScan: (() => void) | null = null

  const add = (records: CommittedRecord[]): void => {
    for (const { sequence, entry } of records) index.addEntry(sequence, entry)
  }
  // registered before the bus: a record is in the history before any watcher hears of it
  log.onCommit((records) => {
    if (held === null) add(records)
    else held.push(...records)
  })
  log.onSkip?.((from, to) => {
    backfill(from, to).catch((err: unknown) => {
      logger.error({ err: (err as Error).message, from, to }, 'cannot index the history of offsets skipped by loading a newer snapshot; their entries are missing from history')
    })
  })

  /** Indexes the records of from … to that took effect, in order, with the term rule appliers use. */
  async function scan (from: number, to: number): Promise<void> {
    const { first } = await patiently('reading where the stream begins', log.refresh, logger)
    if (Math.max(from, first) > to || closed) return
    const filter = createTermFilter(log.terms.termBefore(from))
    let next = from
    let reached = (): void => {}
    const done = new Promise<void>((resolve) => { reached = resolve })
    const applier: Applier = startApplier({
      js,
      stream,
      from,
      logger,
      behind: () => next <= to,
      onMessage (sequence, record) {
        if (next > to) return
        next = sequence + 1
        if (record !== null && sequence <= to) add(filter.offer(record))
        if (sequence >= to) reached()
      },
    })
    stopScan = reached
    try {
      for (let mark = next; !(await within(done, SCAN_STALL_MS)); mark = next) {
        if (next === mark) throw new Error(`reading the history of stream "${stream}" stalled at offset ${next} of ${to}`)
      }
    } finally {
      stopScan = null
      await applier.stop()
    }
  }

  function backfill (from: number, to: number): Promise<void> {
    held ??= []
    backfills++
    const run = chain.then(async () => await scan(from, to)).finally(() => {
      if (--backfills > 0) return
      const release = held ?? []
      held = null
      add(release)
    })
    chain = run.catch(() => {})
    return run
  }

  function trim (): void {
    const first = log.earliestOffset()
    if (first <= floor) return
    floor = first
    index.dropBefore(first)
    void index.release()
  }

  /**
   * The records at `offsets`, stopping before their bytes pass `maxBytes` (at least one).
   * Requests go out a window at a time, no more than the bytes left can hold at the
   * largest size seen, so large records are not fetched only to be left out.
   */
  async function read (offsets: number[], maxBytes: number): Promise<CommittedRecord[]> {
    const records: CommittedRecord[] = []
    let bytes = 0
    let largest = 0
    log.io.reads++
    try {
      for (let i = 0; i < offsets.length;) {
        const room = largest === 0 ? WINDOW : Math.max(1, Math.floor((maxBytes - bytes) / largest))
        const wanted = offsets.slice(i, i + Math.min(WINDOW, room))
        const messages = await fetchMessages(jsm, stream, wanted)
        for (const [k, msg] of messages.entries()) {
          // the stream denies deletes: an indexed offset is missing only once purged
          if (msg === null) throw new PurgedError(wanted[k])
          const size = RECORD_HEADER_BYTES + msg.data.length
          if (records.length > 0 && bytes + size > maxBytes) return records
          const record = decodeRecord(msg.seq, msg.data, msg.header)
          // the index holds only records that decoded and took effect
          if (record === null) throw new RcpError('WAL_IO_ERROR', `stream message ${msg.seq} is not a log entry`)
          records.push({ sequence: msg.seq, entry: record.entry })
          bytes += size
          largest = Math.max(largest, size)
        }
        i += wanted.length
      }
      return records
    } finally {
      log.io.bytes_read += bytes
    }
  }

  /** Throws PurgedError when the instance's oldest indexed entry is gone (this node had not heard of a purge yet). */
  async function kept (earliest: number | null, fetched: number[]): Promise<void> {
    if (earliest === null || fetched.includes(earliest)) return
    const [msg] = await fetchMessages(jsm, stream, [earliest])
    if (msg === null) throw new PurgedError(earliest)
  }

  return {
    async instanceHistory (instanceId, { from, limit, reverse, maxBytes }) {
      await chain
      for (let attempt = 1; ; attempt++) {
        trim()
        const page = index.page(instanceId, from, limit + 1, reverse)
        const wanted = page.offsets.slice(0, limit)
        try {
          const [records] = await Promise.all([read(wanted, maxBytes), kept(page.earliest, wanted)])
          return { records, next: page.offsets[records.length] ?? null, earliest: page.earliest, complete: page.complete }
        } catch (err) {
          if (!(err instanceof PurgedError)) throw err
          if (attempt === ATTEMPTS) throw new RcpError('WAL_IO_ERROR', 'the stream is being compacted; read again')
          // learn where the stream now begins, then plan the page again
          await log.refresh().catch(() => {})
        }
      }
    },
    backfill,
    trim,
    async close () {
      closed = true
      stopScan?.()
      await chain
    },
  }
}
