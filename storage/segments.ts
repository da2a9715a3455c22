import fs from 'node:fs'
import path from 'node:path'

/** Segment file names (storage.md §1): 16 lowercase hex digits + ".wal". */
export const SEGMENT_NAME = /^[0-9a-f]{16}\.wal$/

export function segmentName (id: number): string {
  return id.toString(16).padStart(16, '0') + '.wal'
}

export function segmentPath (walDir: string, id: number): string {
  return path.join(walDir, segmentName(id))
}

/**
 * What the WAL knows about one segment. `index` is a sparse map from sequence to
 * byte position (one entry every INDEX_STRIDE bytes) so a reader can seek near
 * any sequence without scanning the whole file.
 */
export interface SegmentInfo {
  id: number
  path: string
  /** 0 while the segment holds no record */
  firstSeq: number
  lastSeq: number
  /** bytes of records written to it (its file size) */
  size: number
  records: number
  indexSeqs: number[]
  indexPos: number[]
}

export const INDEX_STRIDE = 256 * 1024

export function newSegmentInfo (walDir: string, id: number): SegmentInfo {
  return { id, path: segmentPath(walDir, id), firstSeq: 0, lastSeq: 0, size: 0, records: 0, indexSeqs: [], indexPos: [] }
}

/** Notes a record that starts at `pos` of the segment. */
export function noteRecord (seg: SegmentInfo, sequence: number, pos: number, size: number): void {
  if (seg.records === 0) seg.firstSeq = sequence
  const lastIndexed = seg.indexPos.length > 0 ? seg.indexPos[seg.indexPos.length - 1] : -INDEX_STRIDE
  if (pos - lastIndexed >= INDEX_STRIDE) {
    seg.indexSeqs.push(sequence)
    seg.indexPos.push(pos)
  }
  seg.lastSeq = sequence
  seg.records++
  seg.size = pos + size
}

/** Byte position to start reading at to find `sequence` in the segment. */
export function seekPosition (seg: SegmentInfo, sequence: number): number {
  let lo = 0
  let hi = seg.indexSeqs.length - 1
  let pos = 0
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (seg.indexSeqs[mid] <= sequence) {
      pos = seg.indexPos[mid]
      lo = mid + 1
    } else {
      hi = mid - 1
    }
  }
  return pos
}

export interface WalDirListing {
  ids: number[]
  junk: string[]
}

export function listSegments (walDir: string): WalDirListing {
  const ids: number[] = []
  const junk: string[] = []
  for (const name of fs.readdirSync(walDir)) {
    if (SEGMENT_NAME.test(name)) ids.push(parseInt(name.slice(0, 16), 16))
    else junk.push(name)
  }
  ids.sort((a, b) => a - b)
  return { ids, junk }
}
