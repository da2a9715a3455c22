import fs from 'node:fs'
import { decodeRecordAt, HEADER_SIZE } from './record.js'
import { seekPosition } from './segments.js'
import type { CommittedRecord } from './log.js'
import type { WalState } from './wal-writer.js'
import { walIoError } from './wal-writer.js'

const CHUNK = 1024 * 1024

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
    try {
      let buf = Buffer.alloc(0)
      let bufStart = pos
      const needed = (): number => {
        const at = pos - bufStart
        return buf.length - at < HEADER_SIZE ? HEADER_SIZE : HEADER_SIZE + buf.readUInt32BE(at + 8)
      }
      while (pos < end && records.length < limit) {
        let need: number
        while (buf.length - (pos - bufStart) < (need = needed())) {
          const size = Math.min(Math.max(CHUNK, need), end - pos)
          if (size < need) throw new Error(`record past the end of ${seg.path} at ${pos}`)
          buf = Buffer.allocUnsafe(size)
          const { bytesRead } = await handle.read(buf, 0, size, pos)
          state.io.bytes_read += bytesRead
          buf = buf.subarray(0, bytesRead)
          bufStart = pos
          if (bytesRead < need) throw new Error(`short read in ${seg.path} at ${pos}`)
        }
        const at = pos - bufStart
        const r = decodeRecordAt(buf, at, buf.length, 0)
        if (!r.ok) throw new Error(`unreadable record in ${seg.path} at ${pos}: ${r.fault}`)
        const { sequence, entry, size } = r.record
        if (sequence > committed) return { records, bytes }
        pos += size
        if (sequence < fromOffset || r.record.type === 255) continue
        if (records.length > 0 && bytes + size > maxBytes) return { records, bytes }
        records.push({ sequence, entry })
        bytes += size
      }
    } finally {
      await handle.close()
    }
  }
  return { records, bytes }
}
