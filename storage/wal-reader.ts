import fs from 'node:fs'
import { decodeRecordAt, emptyDecodedRecord, NOOP_TYPE } from './record.js'
import { SegmentWindow } from './segment-window.js'
import { seekPosition } from './segments.js'
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
