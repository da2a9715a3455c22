import fs from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { decodeRecordAt, emptyDecodedRecord, HEADER_SIZE, NOOP_TYPE, readSequence } from './record.js'
import type { DecodedRecord } from './record.js'
import { SegmentWindow } from './segment-window.js'
import { seekPosition, segmentOf } from './segments.js'
import type { SegmentInfo } from './segments.js'
import type { CommittedRecord } from './log.js'
import type { WalState } from './wal-writer.js'
import { walIoError } from './wal-writer.js'

export interface ReadResult {
  records: CommittedRecord[]
  /** record bytes (header + payload) returned */
  bytes: number
}

/**
 * Committed records with sequence ≥ fromOffset, ascending, at most `limit`, and
 * at most `maxBytes` of record bytes (always at least one record). Starts at the
 * oldest retained record when fromOffset is older. Reads from disk.
 */
export async function readCommitted (state: WalState, fromOffset: number, limit: number, maxBytes: number): Promise<ReadResult> {
  state.io.reads++
  // a segment deleted by compaction between lookup and open: retry against the new list
  for (let attempt = 0; ; attempt++) {
    try {
      return await readOnce(state, fromOffset, limit, maxBytes)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw walIoError(err)
    }
  }
}

async function readOnce (state: WalState, fromOffset: number, limit: number, maxBytes: number): Promise<ReadResult> {
  const records: CommittedRecord[] = []
  const rec = emptyDecodedRecord()
  let bytes = 0
  const committed = state.lastCommitted
  const segments = state.segments.slice()
  let i = 0
  while (i < segments.length && (segments[i].records === 0 || segments[i].lastSeq < fromOffset)) i++
  for (; i < segments.length && records.length < limit; i++) {
    const seg = segments[i]
    if (seg.records === 0 || seg.firstSeq > committed) break
    const end = seg.size
    let pos = seg.firstSeq >= fromOffset ? 0 : seekPosition(seg, fromOffset)
    const handle = await fs.promises.open(seg.path, 'r')
    const window = new SegmentWindow(async (buf, offset, length, position) => (await handle.read(buf, offset, length, position)).bytesRead, end)
    try {
      while (pos < end && records.length < limit) {
        let at = window.recordOffset(pos)
        if (at < 0) at = await window.loadRecord(pos)
        const invalid = decodeRecordAt(window.buf, at, window.length, 0, rec)
        if (invalid !== null) throw new Error(`unreadable record in ${seg.path} at ${pos}: ${invalid.fault}`)
        const { sequence, entry, size } = rec
        if (sequence > committed) return { records, bytes }
        pos += size
        if (sequence < fromOffset || rec.type === NOOP_TYPE) continue
        if (records.length > 0 && bytes + size > maxBytes) return { records, bytes }
        records.push({ sequence, entry })
        bytes += size
      }
    } finally {
      state.io.bytes_read += window.bytesRead
      await handle.close()
    }
  }
  return { records, bytes }
}

/** A record asked for by offset is no longer in the WAL (compaction deleted its segment meanwhile). */
export class RecordGoneError extends Error {
  constructor (readonly sequence: number) {
    super(`record ${sequence} is no longer in the WAL`)
    this.name = 'RecordGoneError'
  }
}

/** a lone record is read with this much around it (its index point is at most 4 KiB before it) */
const AT_CHUNK = 16 * 1024
/** records wanted whose index points lie within this span of each other are read with one read */
const GROUP_SPAN = 1024 * 1024

interface OpenSegment {
  handle: FileHandle
  window: SegmentWindow
}

/**
 * The committed records at `offsets` (in the order given), stopping before their bytes
 * pass `maxBytes` (always at least one). Each is found from its segment's sparse index
 * by stepping over at most a few record headers, and records wanted near each other
 * are fetched with one read, so N records cost at most N small reads, often one.
 * Throws RecordGoneError when an offset's segment was compacted away, WAL_IO_ERROR on
 * any other failure.
 */
export async function readRecordsAt (state: WalState, offsets: number[], maxBytes: number): Promise<ReadResult> {
  state.io.reads++
  const segments = state.segments.filter((seg) => seg.records > 0)
  const open = new Map<SegmentInfo, OpenSegment>()
  const records: CommittedRecord[] = []
  const rec = emptyDecodedRecord()
  let bytes = 0
  try {
    let i = 0
    while (i < offsets.length && !(records.length > 0 && bytes >= maxBytes)) {
      const s = segmentOf(segments, offsets[i])
      if (s < 0) throw new RecordGoneError(offsets[i])
      const seg = segments[s]
      // the run of records wanted next that lie close together in this segment, and the bytes that hold them
      let first = seekPosition(seg, offsets[i])
      let last = first
      let end = i + 1
      for (; end < offsets.length; end++) {
        if (offsets[end] < seg.firstSeq || offsets[end] > seg.lastSeq) break
        const point = seekPosition(seg, offsets[end])
        if (Math.max(last, point) - Math.min(first, point) > GROUP_SPAN) break
        first = Math.min(first, point)
        last = Math.max(last, point)
      }
      let o = open.get(seg)
      if (o === undefined) {
        const handle = await fs.promises.open(seg.path, 'r')
        o = { handle, window: new SegmentWindow(async (buf, at, length, position) => (await handle.read(buf, at, length, position)).bytesRead, seg.size, AT_CHUNK) }
        open.set(seg, o)
      }
      await o.window.loadAt(first, last - first + AT_CHUNK)
      for (; i < end; i++) {
        const size = await readOne(o.window, seg, offsets[i], rec)
        if (records.length > 0 && bytes + size > maxBytes) return { records, bytes }
        records.push({ sequence: offsets[i], entry: rec.entry })
        bytes += size
      }
    }
    return { records, bytes }
  } catch (err) {
    if (err instanceof RecordGoneError) throw err
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RecordGoneError(offsets[records.length])
    throw walIoError(err)
  } finally {
    for (const o of open.values()) {
      state.io.bytes_read += o.window.bytesRead
      await o.handle.close()
    }
  }
}

/** Decodes the record `sequence` of the segment into `rec`, stepping from the index point before it; returns its size. */
async function readOne (window: SegmentWindow, seg: SegmentInfo, sequence: number, rec: DecodedRecord): Promise<number> {
  let pos = seekPosition(seg, sequence)
  for (;;) {
    let at = window.headerOffset(pos)
    if (at < 0) {
      await window.loadAt(pos)
      at = window.headerOffset(pos)
    }
    if (at < 0) break
    const found = readSequence(window.buf, at)
    if (found > sequence) break
    if (found === sequence) {
      at = window.recordOffset(pos)
      if (at < 0) at = await window.loadRecord(pos)
      const invalid = decodeRecordAt(window.buf, at, window.length, 0, rec)
      if (invalid !== null) throw new Error(`unreadable record in ${seg.path} at ${pos}: ${invalid.fault}`)
      return rec.size
    }
    pos += HEADER_SIZE + window.buf.readUInt32BE(at + 8)
  }
  throw new Error(`record ${sequence} not found in ${seg.path}`)
}
