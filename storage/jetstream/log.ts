import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type { WalEntry } from '../../protocol/entries.js'
import { RcpError, unavailable } from '../../protocol/errors.js'
import type { IoStats, ReadResult } from '../index.js'
import type { CommitListener, CommittedRecord, Log, Pin, SkipListener } from '../log.js'
import type { Logger } from '../logger.js'
import { startApplier } from './applier.js'
import type { Applier } from './applier.js'
import { PurgedError, readRange } from './reader.js'
import type { StreamRecord } from './records.js'
import type { Subjects } from './subjects.js'
import { createTermFilter, entryTerm, TermIndex } from './terms.js'
import type { TermFilter } from './terms.js'
import { createWriter } from './writer.js'
import { createWaiters } from '../waiters.js'
import type { Writer } from './writer.js'

/** The stream's retained range and size, as last read from the servers. */
export interface StreamState {
  /** oldest retained sequence, or last + 1 when the stream holds nothing */
  first: number
  last: number
  messages: number
  bytes: number
}

/** The stream's state from the servers. */
export async function readStreamState (jsm: JetStreamManager, stream: string): Promise<StreamState> {
  const s = (await jsm.streams.info(stream)).state
  return { first: s.messages === 0 ? s.last_seq + 1 : s.first_seq, last: s.last_seq, messages: s.messages, bytes: s.bytes }
}

export interface JetStreamLogOptions {
  js: JetStreamClient
  jsm: JetStreamManager
  stream: string
  subjects: Subjects
  /** the servers' max_payload */
  maxPayload: number
  /** bound on each PubAck */
  ackTimeoutMs: number
  logger: Logger
  /** everything up to here is already in the state this log starts from (a snapshot's last sequence) */
  committed: number
  /** term entries known so far, with the term in force before the first */
  terms: TermIndex
  stream0: StreamState
}

export interface FollowOptions {
  /** first sequence to consume */
  from: number
  /** the term in force at `from` */
  term: number
  /** every record that takes effect, in order, before commit listeners see it: the engine's apply */
  apply: (record: CommittedRecord) => void
  /** after each message is handled and before it commits: where the applied state now stands */
  onSeen?: (sequence: number) => void
  /** the stream no longer holds `expected` (compaction purged it): state must come from a newer snapshot */
  onGap: (expected: number, found: number) => void
}

export interface LeadOptions {
  term: number
  /** false once the lease has lapsed: appends are refused from then on */
  canDecide: () => boolean
  /** the first rejected, timed-out or refused append */
  onFail: (error: RcpError) => void
}

export interface JetStreamLog extends Log {
  read: (fromOffset: number, limit: number, maxBytes: number) => Promise<ReadResult>
  /**
   * Consumes the stream from `from`, applying what takes effect (cluster.md §1). Records at
   * or below the committed head are applied again without commit notices (a rebuild); a
   * `from` above it (a newer snapshot) moves the head there without notices.
   */
  follow: (opts: FollowOptions) => void
  /** resolves once no more records will be applied */
  stopFollowing: () => Promise<void>
  /** takes appends, numbered from the last sequence seen + 1 (cluster.md §2) */
  lead: (opts: LeadOptions) => void
  /**
   * Ends the term: refuses appends and fails every write still waiting. Returns true when
   * records were appended (and applied) that did not commit: the state must be rebuilt.
   */
  resign: (error: RcpError) => boolean
  /** last sequence handed to the follower (taken, dropped or buffered in a group), or appended as leader */
  seen: () => number
  /** the term of the last term entry taken */
  term: () => number
  /** true when `sequence` was seen within `timeoutMs` */
  untilSeen: (sequence: number, timeoutMs: number) => Promise<boolean>
  /** the stream's state as last refreshed */
  streamState: () => StreamState
  refresh: () => Promise<StreamState>
  /** purges the stream below `keep`, never past a pinned sequence; returns how many messages went */
  purgeBelow: (keep: number) => Promise<number>
  readonly terms: TermIndex
  /** counters for WAL_STATS: records and bytes appended and read since start */
  readonly io: IoStats
  close: () => Promise<void>
}

const RESOLVED = Promise.resolve()
const READ_ATTEMPTS = 3

/**
 * The Log of cluster mode (storage/log.ts over cluster.md §2): one object per node,
 * fed either by the follower's ordered consumer or by its own appends as leader.
 * Commit listeners see the same records at the same offsets on every node.
 */
export function createJetStreamLog (opts: JetStreamLogOptions): JetStreamLog {
  const { logger } = opts
  let committed = opts.committed
  let seenSeq = opts.committed
  let state = opts.stream0
  let filter: TermFilter = createTermFilter(opts.terms.termBefore(committed + 1))
  let writer: Writer | null = null
  let follower: { applier: Applier, options: FollowOptions } | null = null
  let writeWaiters: Array<{ sequence: number, resolve: () => void, reject: (err: RcpError) => void }> = []
  const seenWaiters = createWaiters()
  const committedWaiters = createWaiters()
  const listeners = new Set<CommitListener>()
  const skipListeners = new Set<SkipListener>()
  const pins = new Set<{ sequence: number }>()
  const io: IoStats = { bytes_written: 0, bytes_read: 0, writes: 0, reads: 0, fsyncs: 0 }

  function minPin (): number {
    let min = Infinity
    for (const p of pins) min = Math.min(min, p.sequence)
    return min
  }

  function took (record: CommittedRecord): void {
    const term = entryTerm(record.entry)
    if (term !== null) opts.terms.add(record.sequence, term)
  }

  /** everything up to `to` has been resolved; `fresh` are the records above the old head that took effect */
  function advance (to: number, fresh: CommittedRecord[]): void {
    if (to <= committed) return
    committed = to
    if (fresh.length > 0) for (const listener of listeners) listener(fresh)
    let n = 0
    while (n < writeWaiters.length && writeWaiters[n].sequence <= committed) n++
    if (n > 0) {
      const done = writeWaiters.slice(0, n)
      writeWaiters = writeWaiters.slice(n)
      for (const w of done) w.resolve()
    }
    committedWaiters.reached(committed)
  }

  function failWaiters (error: RcpError): void {
    const rejected = writeWaiters
    writeWaiters = []
    for (const w of rejected) w.reject(error)
  }

  function onMessage (sequence: number, record: StreamRecord | null, pending: number): void {
    const f = follower
    if (f === null || sequence <= seenSeq) return
    if (sequence !== seenSeq + 1) {
      const expected = seenSeq + 1
      follower = null
      void f.applier.stop()
      f.options.onGap(expected, sequence)
      return
    }
    seenSeq = sequence
    if (record === null) logger.error({ sequence }, 'stream message is not a log entry; skipped')
    const fresh: CommittedRecord[] = []
    if (record !== null) {
      for (const taken of filter.offer(record)) {
        took(taken)
        try {
          f.options.apply(taken)
        } catch (err) {
          // applying past a record it could not apply would make this node's state differ from the others'
          logger.error({ err, sequence: taken.sequence }, 'cannot apply a stream record; this node stops following the stream')
          follower = null
          void f.applier.stop()
          return
        }
        if (taken.sequence > committed) fresh.push(taken)
      }
    }
    f.options.onSeen?.(sequence)
    if (!filter.pending) advance(sequence, fresh)
    if (pending === 0 && sequence > state.last) state = { ...state, last: sequence }
    seenWaiters.reached(seenSeq)
  }

  function onWriterCommit (records: StreamRecord[]): void {
    const fresh: CommittedRecord[] = []
    for (const record of records) {
      for (const taken of filter.offer(record)) {
        took(taken)
        fresh.push(taken)
      }
    }
    if (fresh.length !== records.length || filter.pending) {
      // cannot happen while this node is the only writer of its term; refuse to go on if it does
      writer?.fail(unavailable('leadership_lost', 'own appends did not take effect; stepping down'))
      return
    }
    advance(records[records.length - 1].sequence, fresh)
  }

  async function refresh (): Promise<StreamState> {
    state = await readStreamState(opts.jsm, opts.stream)
    return state
  }

  const earliestOffset = (): number => Math.max(1, state.first)

  async function read (fromOffset: number, limit: number, maxBytes: number): Promise<ReadResult> {
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const earliest = earliestOffset()
      // a catch-up cursor (it pins what it reads next) whose records compaction purged
      // anyway: followers cannot hold back the leader's purge, so tell it rather than skip
      if (fromOffset < earliest && earliest > 1 && [...pins].some((p) => p.sequence === fromOffset)) {
        throw new RcpError('NOT_FOUND', `offset ${fromOffset} has been compacted; earliest retained offset is ${earliest}`,
          { reason: 'offset_compacted', from_offset: fromOffset, earliest_offset: earliest })
      }
      const from = Math.max(fromOffset, earliest)
      if (from > committed) return { records: [], bytes: 0 }
      try {
        io.reads++
        const result = await readRange({ jsm: opts.jsm, stream: opts.stream, terms: opts.terms, from, head: committed, limit, maxBytes })
        io.bytes_read += result.bytes
        return result
      } catch (err) {
        if (!(err instanceof PurgedError)) throw err
        await refresh().catch(() => {})
      }
    }
    throw new RcpError('WAL_IO_ERROR', 'the stream is being compacted; read again')
  }

  const log: JetStreamLog = {
    append (entries: WalEntry[], group: boolean): number[] {
      if (writer === null || writer.failed) throw unavailable('leadership_lost', 'this node is not the leader')
      return writer.append(entries, group)
    },
    waitFor (sequence) {
      if (sequence <= committed) return RESOLVED
      if (writer === null || writer.failed || sequence > writer.appended()) {
        return Promise.reject(unavailable('leadership_lost', `offset ${sequence} has not committed and this node no longer leads`))
      }
      return new Promise((resolve, reject) => {
        let i = writeWaiters.length
        while (i > 0 && writeWaiters[i - 1].sequence > sequence) i--
        writeWaiters.splice(i, 0, { sequence, resolve, reject })
      })
    },
    onCommit (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    onSkip (listener) {
      skipListeners.add(listener)
      return () => { skipListeners.delete(listener) }
    },
    read,
    pin (sequence): Pin {
      const pin = { sequence }
      pins.add(pin)
      return {
        advance: (seq) => { pin.sequence = seq },
        release: () => { pins.delete(pin) },
      }
    },
    appendedHead: () => writer === null ? committed : Math.max(committed, writer.appended()),
    committedHead: () => committed,
    earliestOffset,
    // the cluster log never needs a restart: a failed leader steps down and rebuilds
    isFailed: () => false,

    follow (options) {
      if (follower !== null || writer !== null) throw new Error('the log is already following or leading')
      seenSeq = options.from - 1
      filter = createTermFilter(options.term)
      if (seenSeq > committed) {
        logger.warn({ from: committed + 1, to: seenSeq }, 'state loaded from a newer snapshot: these offsets produce no commit notices here')
        for (const listener of skipListeners) listener(committed + 1, seenSeq)
        advance(seenSeq, [])
      }
      const applier = startApplier({ js: opts.js, stream: opts.stream, from: options.from, onMessage, behind: () => state.last > seenSeq, logger })
      follower = { applier, options }
    },
    async stopFollowing () {
      const f = follower
      follower = null
      if (f !== null) await f.applier.stop()
    },
    lead (options) {
      if (follower !== null || writer !== null) throw new Error('the log is already following or leading')
      const w: Writer = createWriter({
        js: opts.js,
        stream: opts.stream,
        subjects: opts.subjects,
        term: options.term,
        firstSequence: seenSeq + 1,
        maxPayload: opts.maxPayload,
        ackTimeoutMs: opts.ackTimeoutMs,
        io,
        canDecide: options.canDecide,
        onCommit: onWriterCommit,
        onFail (error) {
          // a resign has already failed the waiters and needs no notice
          if (writer !== w) return
          failWaiters(error)
          options.onFail(error)
        },
      })
      writer = w
    },
    resign (error) {
      const w = writer
      if (w === null) return false
      writer = null
      const dirty = w.appended() > committed
      w.fail(error)
      failWaiters(error)
      seenSeq = committed
      return dirty
    },
    seen: () => writer === null ? seenSeq : writer.appended(),
    term: () => filter.term,
    untilSeen: (sequence, timeoutMs) => log.seen() >= sequence ? Promise.resolve(true) : seenWaiters.add(sequence, timeoutMs),
    untilCommitted: (sequence, timeoutMs) => committed >= sequence ? Promise.resolve(true) : committedWaiters.add(sequence, timeoutMs),
    streamState: () => state,
    refresh,
    async purgeBelow (keep) {
      const upTo = Math.min(keep, minPin(), committed + 1)
      if (upTo <= state.first) return 0
      const { purged } = await opts.jsm.streams.purge(opts.stream, { seq: upTo })
      await refresh().catch(() => {})
      return purged
    },
    terms: opts.terms,
    io,
    async close () {
      await log.stopFollowing()
      if (writer !== null) log.resign(unavailable('leadership_lost', 'this node is shutting down'))
      seenWaiters.clear()
      committedWaiters.clear()
    },
  }
  return log
}
