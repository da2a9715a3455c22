import type { JetStreamClient, PubAck } from '@nats-io/jetstream'
import type { WalEntry } from '../../protocol/entries.js'
import { badRequest, unavailable } from '../../protocol/errors.js'
import type { RcpError } from '../../protocol/errors.js'
import type { IoStats } from '../index.js'
import { recordHeaders } from './records.js'
import type { StreamRecord } from './records.js'
import type { Subjects } from './subjects.js'

/** Room for the subject, the headers and the protocol line around a payload. */
const ENVELOPE_BYTES = 1024

/** The largest record payload a message can carry under the servers' max_payload. */
export const maxRecordBytes = (maxPayload: number): number => maxPayload - ENVELOPE_BYTES

export interface WriterOptions {
  js: JetStreamClient
  stream: string
  subjects: Subjects
  /** the leader's term, on every message */
  term: number
  /** the sequence the first append gets: the last sequence in the stream + 1 */
  firstSequence: number
  /** the servers' max_payload */
  maxPayload: number
  /** bound on each PubAck */
  ackTimeoutMs: number
  /** counts the records and bytes published */
  io: IoStats
  /** false once this node may no longer decide (lease lost or expired) */
  canDecide: () => boolean
  /** committed records as the stream holds them, in sequence order, one call per unit that completes */
  onCommit: (records: StreamRecord[]) => void
  /** called once, on the first rejected, timed-out or refused append */
  onFail: (error: RcpError) => void
}

/** One append: a single entry or an atomic group, committed as a whole. */
interface Unit {
  records: StreamRecord[]
  unacked: number
}

export interface Writer {
  /** numbers the entries (the stream's next sequences), publishes them pipelined and returns the sequences */
  append: (entries: WalEntry[], group: boolean) => number[]
  /** last sequence given out */
  appended: () => number
  /** true once an append failed: everything not committed is lost to this writer */
  readonly failed: boolean
  /** stops the writer: no further append is taken and nothing still in flight commits */
  fail: (error: RcpError) => void
}

/**
 * The leader's side of the JetStream log (cluster.md §2): every message expects the
 * sequence before it, so the stream takes them only in this order and only while no one
 * else has appended; commit = PubAck, strictly in sequence order. One rejected append
 * fails the writer: nothing after it commits, and the node steps down.
 */
export function createWriter (opts: WriterOptions): Writer {
  let last = opts.firstSequence - 1
  let failure: RcpError | null = null
  const units: Unit[] = []
  const unitOf = new Map<number, Unit>()
  const limit = maxRecordBytes(opts.maxPayload)
  /** appends of this event-loop turn, published together at its end */
  let outbox: Array<{ sequence: number, entry: WalEntry, payload: Buffer, cont: boolean }> = []

  function fail (error: RcpError): void {
    if (failure !== null) return
    failure = error
    units.length = 0
    unitOf.clear()
    opts.onFail(error)
  }

  function acked (sequence: number, ack: PubAck): void {
    if (failure !== null) return
    if (ack.seq !== sequence || ack.stream !== opts.stream) {
      fail(unavailable('leadership_lost', `append ${sequence} was stored as ${ack.stream}:${ack.seq}; stepping down`))
      return
    }
    const unit = unitOf.get(sequence)
    if (unit === undefined) return
    unitOf.delete(sequence)
    unit.unacked--
    while (units.length > 0 && units[0].unacked === 0) opts.onCommit((units.shift() as Unit).records)
  }

  function rejected (sequence: number, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err)
    fail(unavailable('leadership_lost', `append ${sequence} was not acknowledged (${message}); this node is no longer the leader`))
  }

  /**
   * Publishes what this turn appended. The client coalesces publishes made in one stretch
   * into one socket write, so appends decided for many connections in one turn cost one
   * write (and one read on the server) instead of one each: group commit, as the WAL does.
   */
  function publishAll (): void {
    const due = outbox
    outbox = []
    if (failure !== null) return
    // a process stopped (SIGSTOP, a long pause) between deciding and here must not publish late
    if (!opts.canDecide()) {
      fail(unavailable('leadership_lost', 'the leader lease lapsed before these appends went out; this node no longer takes writes'))
      return
    }
    for (const { sequence, entry, payload, cont } of due) {
      opts.js.publish(opts.subjects.forEntry(entry), payload, {
        expect: { lastSequence: sequence - 1 },
        headers: recordHeaders(opts.term, cont),
        timeout: opts.ackTimeoutMs,
      }).then((ack) => acked(sequence, ack), (err: unknown) => rejected(sequence, err))
    }
  }

  function append (entries: WalEntry[], group: boolean): number[] {
    if (failure !== null) throw failure
    if (!opts.canDecide()) {
      const lapsed = unavailable('leadership_lost', 'the leader lease has lapsed; this node no longer takes writes')
      fail(lapsed)
      throw lapsed
    }
    // sized before numbering: an oversized record leaves nothing behind
    const payloads = entries.map((entry) => Buffer.from(JSON.stringify(entry), 'utf8'))
    for (const payload of payloads) {
      if (payload.length > limit) {
        throw badRequest(`WAL record too large for NATS: ${payload.length} bytes (limit ${limit}, the servers' max_payload less headers)`,
          { reason: 'record_too_large', size: payload.length, limit })
      }
    }
    const sequences = entries.map(() => ++last)
    for (const payload of payloads) opts.io.bytes_written += payload.length
    opts.io.writes += entries.length
    const cont = (i: number): boolean => group && i < entries.length - 1
    const records = entries.map((entry, i): StreamRecord => ({ sequence: sequences[i], entry, term: opts.term, cont: cont(i) }))
    const grouped = group ? [records] : records.map((r) => [r])
    for (const members of grouped) {
      const unit: Unit = { records: members, unacked: members.length }
      units.push(unit)
      for (const r of members) unitOf.set(r.sequence, unit)
    }
    if (outbox.length === 0) setImmediate(publishAll)
    for (let i = 0; i < entries.length; i++) outbox.push({ sequence: sequences[i], entry: entries[i], payload: payloads[i], cont: cont(i) })
    return sequences
  }

  return {
    append,
    appended: () => last,
    get failed () { return failure !== null },
    fail,
  }
}
