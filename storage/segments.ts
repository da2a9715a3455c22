import fs from 'node:fs'
import path from 'node:path'
import type { WalEntry } from '../protocol/entries.js'

/** Segment file names (storage.md §1): 16 lowercase hex digits + ".wal". */
export const SEGMENT_NAME = /^[0-9a-f]{16}\.wal$/

export function segmentName (id: number): string {
  return id.toString(16).padStart(16, '0') + '.wal'
}

export function segmentPath (walDir: string, id: number): string {
  return path.join(walDir, segmentName(id))
}

/**
 * What the WAL knows about one segment. `indexSeqs`/`indexPos` are a sparse map from
 * sequence to byte position (history.md §1): a point at least every INDEX_EVERY_RECORDS
 * records and every INDEX_EVERY_BYTES bytes, so finding any record steps over at most
 * a few KiB of headers, and a history read of N records costs N such seeks, never a scan
 * (about 1 byte per record: two numbers per point).
 */
export interface SegmentInfo {
  id: number
  path: string
  /** 0 while the segment holds no record */
  firstSeq: number
  lastSeq: number
  /** `ts` of its newest record (Unix ms), for history retention; 0 while empty */
  lastTs: number
  /** bytes of records written to it (its file size) */
  size: number
  records: number
  indexSeqs: number[]
  indexPos: number[]
}

export const INDEX_EVERY_RECORDS = 16
export const INDEX_EVERY_BYTES = 4096

export function newSegmentInfo (walDir: string, id: number): SegmentInfo {
  return { id, path: segmentPath(walDir, id), firstSeq: 0, lastSeq: 0, lastTs: 0, size: 0, records: 0, indexSeqs: [], indexPos: [] }
}

/** An entry's `ts` (storage.md §3), or `fallback` for one written without it (by the original server). */
export function entryTime (entry: WalEntry, fallback: number): number {
  return typeof entry.ts === 'number' ? entry.ts : fallback
}

/** Notes a record that starts at `pos` of the segment; `ts` is its entry's time. */
export function noteRecord (seg: SegmentInfo, sequence: number, pos: number, size: number, ts: number): void {
  if (seg.records === 0) seg.firstSeq = sequence
  const points = seg.indexPos.length
  // a point right after skipped garbage too, so a reader stepping from a point by record lengths never meets it
  if (points === 0 || pos !== seg.size || pos - seg.indexPos[points - 1] >= INDEX_EVERY_BYTES || sequence - seg.indexSeqs[points - 1] >= INDEX_EVERY_RECORDS) {
    seg.indexSeqs.push(sequence)
    seg.indexPos.push(pos)
  }
  seg.lastSeq = sequence
  if (ts > seg.lastTs) seg.lastTs = ts
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

/** Index in `segments` (non-empty, ascending by id) of the one holding `sequence`, -1 when none does. */
export function segmentOf (segments: SegmentInfo[], sequence: number): number {
  let lo = 0
  let hi = segments.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const seg = segments[mid]
    if (sequence < seg.firstSeq) hi = mid - 1
    else if (sequence > seg.lastSeq) lo = mid + 1
    else return mid
  }
  return -1
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
