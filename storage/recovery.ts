import fs from 'node:fs'
import path from 'node:path'
import { ENTRY_TYPE_CODES } from '../protocol/entries.js'
import type { WalEntry } from '../protocol/entries.js'
import { listFullSnapshots, readFullSnapshot, SnapshotCorruptError } from './full-snapshot.js'
import type { FullSnapshotInfo, SnapshotLine } from './full-snapshot.js'
import type { HistoryIndex } from './history-index.js'
import type { Logger } from './logger.js'
import { decodeRecordAt, emptyDecodedRecord, FLAG_GROUP_CONT, HEADER_SIZE, MAGIC, MAGIC_BYTES } from './record.js'
import type { DecodedRecord, InvalidRecord } from './record.js'
import { SegmentWindow } from './segment-window.js'
import { entryTime, listSegments, newSegmentInfo, noteRecord, segmentName } from './segments.js'
import type { SegmentInfo } from './segments.js'
import { setImmediate as yieldTurn } from 'node:timers/promises'

/** Where recovery sends what it reads: the engine in production. */

/** records decoded between two yields to the event loop during recovery */
const YIELD_EVERY = 4096
export interface RecoveryTarget {
  restore: (line: SnapshotLine) => void
  apply: (entry: WalEntry, sequence: number) => void
  stats?: () => { machines: number, instances: number, tombstones: number, idempotency: number }
}

/** Fatal corruption (storage.md §5.5–5.6): the server must not start. */
export class WalCorruptionError extends Error {
  readonly file: string
  readonly position: number | null
  readonly sequence: number | null
  readonly reason: string
  constructor (file: string, position: number | null, sequence: number | null, reason: string) {
    super(`WAL corruption in ${file}${position === null ? '' : ` at byte ${position}`}${sequence === null ? '' : ` (sequence ${sequence})`}: ${reason}`)
    this.name = 'WalCorruptionError'
    this.file = file
    this.position = position
    this.sequence = sequence
    this.reason = reason
  }
}

export interface Truncation {
  segment: string
  position: number
  bytes: number
  reason: string
}

export interface StartupReport {
  snapshot: string | null
  snapshot_sequence: number
  segments_scanned: number
  records_valid: number
  records_replayed: number
  bytes_truncated: number
  truncations: Truncation[]
  corrupt_records_skipped: number
  head: number
  earliest_offset: number
  machine_versions: number | null
  live_instances: number | null
  tombstones: number | null
  idempotency_records: number | null
  duration_ms: number
}

export interface RecoveryResult {
  segments: SegmentInfo[]
  head: number
  /** S of the loaded full snapshot (0 without one) */
  snapshotSequence: number
  snapshots: FullSnapshotInfo[]
  /** the last segment must not receive appends (skipped garbage at its end) */
  sealLast: boolean
  bytesRead: number
  report: StartupReport
}

export interface RecoveryOptions {
  dataDir: string
  skipCorruptRecords: boolean
  logger: Logger
  target: RecoveryTarget
  /** gets every valid record still in the WAL, replayed or not (history.md §1) */
  index?: HistoryIndex
}

/** put_machine, create_instance, apply_event, delete_instance (storage.md §2 type codes) */
const isReplayed = (type: number): boolean => type >= 1 && type <= 4
const CREATE_INSTANCE = ENTRY_TYPE_CODES.create_instance
const DELETE_INSTANCE = ENTRY_TYPE_CODES.delete_instance

/** A record of an atomic group held back until the group's last record shows up. */
interface HeldRecord {
  type: number
  sequence: number
  entry: WalEntry
  size: number
  pos: number
}

function removeTmpFiles (dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) removeTmpFiles(full)
    else if (entry.name.endsWith('.tmp')) fs.rmSync(full, { force: true })
  }
}

function allZero (buf: Buffer, from: number, end: number): boolean {
  for (let i = from; i < end; i++) if (buf[i] !== 0) return false
  return true
}

/** Why the bad record at `pos` of the last segment is a torn tail (§5.4), or null when it is corruption. */
function tornReason (buf: Buffer, pos: number, end: number, bad: InvalidRecord): string | null {
  if (allZero(buf, pos, end)) return 'zero_tail'
  if (bad.fault === 'incomplete_header' || bad.fault === 'incomplete_payload') return bad.fault
  if (bad.fault === 'crc_mismatch' && pos + HEADER_SIZE + buf.readUInt32BE(pos + 8) === end) return 'crc_mismatch_at_eof'
  return null
}

function nextValidRecord (buf: Buffer, from: number, end: number, prevSeq: number): number {
  const scratch = emptyDecodedRecord()
  let at = buf.indexOf(MAGIC_BYTES, from)
  while (at !== -1 && at < end) {
    if (decodeRecordAt(buf, at, end, prevSeq, scratch) === null) return at
    at = buf.indexOf(MAGIC_BYTES, at + 1)
  }
  return end
}

function truncateDurably (file: string, at: number): void {
  const fd = fs.openSync(file, 'r+')
  try {
    fs.ftruncateSync(fd, at)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

async function loadSnapshot (snapDir: string, target: RecoveryTarget, logger: Logger): Promise<FullSnapshotInfo[]> {
  const valid: FullSnapshotInfo[] = []
  for (const { file } of listFullSnapshots(snapDir)) {
    try {
      valid.push(await readFullSnapshot(file))
    } catch (err) {
      if (!(err instanceof SnapshotCorruptError) && (err as NodeJS.ErrnoException).code === undefined) throw err
      logger.error({ file, err: (err as Error).message }, 'full snapshot is corrupt; trying an older one')
    }
    if (valid.length === 2) break
  }
  if (valid.length > 0) await readFullSnapshot(valid[0].file, target.restore)
  return valid
}

/**
 * Recovery of storage.md §5 (after the LOCK is taken): tmp cleanup, newest valid
 * full snapshot, segment scan with torn-tail truncation, corruption handling,
 * continuity check and replay into the target.
 */
export async function recover (opts: RecoveryOptions): Promise<RecoveryResult> {
  const started = performance.now()
  const { dataDir, skipCorruptRecords, logger, target, index } = opts
  // entries written without `ts` count as written now (storage.md §3)
  const recoveredAt = Date.now()
  const walDir = path.join(dataDir, 'wal')
  const snapDir = path.join(dataDir, 'snapshots')
  fs.mkdirSync(path.join(snapDir, 'instances'), { recursive: true })
  if (!fs.existsSync(walDir)) {
    logger.warn({ wal_dir: walDir }, 'wal/ directory missing; creating it')
    fs.mkdirSync(walDir, { recursive: true })
  }
  removeTmpFiles(snapDir)

  const snapshots = await loadSnapshot(snapDir, target, logger)
  const S = snapshots.length > 0 ? snapshots[0].header.last_sequence : 0

  const { ids, junk } = listSegments(walDir)
  for (const name of junk) logger.warn({ file: path.join(walDir, name) }, 'ignoring unexpected file in wal/')

  const segments: SegmentInfo[] = []
  const truncations: Truncation[] = []
  let prevSeq = 0
  let firstSeq = 0
  let recordsValid = 0
  let replayed = 0
  let skipped = 0
  let bytesRead = 0
  let sealLast = false
  let sinceYield = 0

  const accept = (seg: SegmentInfo, rec: DecodedRecord | HeldRecord, pos: number): void => {
    if (firstSeq === 0) {
      firstSeq = rec.sequence
      const gap = S > 0 ? rec.sequence > S + 1 : rec.sequence > 1
      if (gap) {
        const reason = S > 0 ? `records ${S + 1}..${rec.sequence - 1} are missing after snapshot S=${S}` : `no full snapshot but the WAL starts at sequence ${rec.sequence}`
        if (!skipCorruptRecords) throw new WalCorruptionError(seg.path, pos, rec.sequence, reason)
        logger.warn({ segment: seg.path, sequence: rec.sequence, snapshot_sequence: S }, `WAL continuity broken (${reason}); continuing because skip_corrupt_records is set`)
      }
    }
    noteRecord(seg, rec.sequence, pos, rec.size, entryTime(rec.entry, recoveredAt))
    // by the type byte: comparing a parsed type string costs more than the index itself
    if (index !== undefined && rec.type >= CREATE_INSTANCE && rec.type <= DELETE_INSTANCE) {
      index.add(rec.sequence, (rec.entry as { instance_id?: unknown }).instance_id, rec.type === CREATE_INSTANCE)
    }
    recordsValid++
    if (rec.sequence > S && isReplayed(rec.type)) {
      try {
        target.apply(rec.entry, rec.sequence)
      } catch (err) {
        throw new WalCorruptionError(seg.path, pos, rec.sequence, `replay failed: ${(err as Error).message}`)
      }
      replayed++
    }
  }

  const rec = emptyDecodedRecord()
  for (let s = 0; s < ids.length; s++) {
    const isLast = s === ids.length - 1
    const seg = newSegmentInfo(walDir, ids[s])
    segments.push(seg)
    const fd = fs.openSync(seg.path, 'r')
    const end = fs.fstatSync(fd).size
    const window = new SegmentWindow((buf, offset, length, position) => fs.readSync(fd, buf, offset, length, position), end)
    let pos = 0
    let group: HeldRecord[] = []
    let lastKept = prevSeq
    // after a corrupt record of a group, records up to the group's last are skipped too
    let skippingGroup = false

    try {
      while (pos < end) {
        // let the event loop breathe: the gateway answers /healthz and /readyz (503) during recovery
        if (++sinceYield === YIELD_EVERY) {
          sinceYield = 0
          await yieldTurn()
        }
        let at = window.recordOffset(pos)
        if (at < 0) at = await window.loadRecord(pos)
        const invalid = decodeRecordAt(window.buf, at, window.length, prevSeq, rec)
        if (invalid === null) {
          prevSeq = rec.sequence
          const cont = (rec.flags & FLAG_GROUP_CONT) !== 0
          if (skippingGroup) {
            skipped++
            if (!cont) skippingGroup = false
          } else if (cont) {
            group.push({ type: rec.type, sequence: rec.sequence, entry: rec.entry, size: rec.size, pos })
          } else {
            for (const g of group) accept(seg, g, g.pos)
            group = []
            accept(seg, rec, pos)
            lastKept = rec.sequence
          }
          pos += rec.size
          continue
        }
        // the rare path: look at everything after the bad record
        at = await window.loadRest(pos)
        const buf = window.buf
        const torn = isLast ? tornReason(buf, at, window.length, invalid) : null
        if (torn !== null) {
          const cut = group.length > 0 ? group[0].pos : pos
          truncations.push({ segment: seg.path, position: cut, bytes: end - cut, reason: group.length > 0 ? `incomplete_group (${torn})` : torn })
          group = []
          prevSeq = lastKept
          break
        }
        if (!skipCorruptRecords) throw new WalCorruptionError(seg.path, pos, invalid.sequence, invalid.fault)
        const magicOk = window.length - at >= 6 && buf.readUInt32BE(at) === MAGIC
        skippingGroup = magicOk ? (buf[at + 5] & FLAG_GROUP_CONT) !== 0 : group.length > 0
        skipped += 1 + group.length
        group = []
        const next = window.start + nextValidRecord(buf, at + 1, window.length, prevSeq)
        logger.warn({ segment: seg.path, position: pos, sequence: invalid.sequence, reason: invalid.fault, resumed_at: next }, 'skipping corrupt WAL record')
        if (next === end && isLast) sealLast = true
        pos = next
      }
    } finally {
      bytesRead += window.bytesRead
      fs.closeSync(fd)
    }
    if (group.length > 0) {
      if (isLast) {
        const at = group[0].pos
        truncations.push({ segment: seg.path, position: at, bytes: end - at, reason: 'incomplete_group' })
        prevSeq = lastKept
      } else if (!skipCorruptRecords) {
        throw new WalCorruptionError(seg.path, group[0].pos, group[0].sequence, 'atomic group without its final record in a sealed segment')
      } else {
        skipped += group.length
        logger.warn({ segment: seg.path, position: group[0].pos }, 'skipping atomic group without its final record')
      }
    }
    const cut = truncations.length > 0 && truncations[truncations.length - 1].segment === seg.path ? truncations[truncations.length - 1] : null
    if (cut !== null) {
      truncateDurably(seg.path, cut.position)
      logger.warn({ segment: seg.path, position: cut.position, bytes: cut.bytes, reason: cut.reason }, 'truncated torn WAL tail')
    }
    // skipped garbage keeps its bytes: the file size, not the last record, is where appends would go
    seg.size = cut !== null ? cut.position : end
  }

  const head = Math.max(S, prevSeq)
  const stats = target.stats?.()
  const report: StartupReport = {
    snapshot: snapshots.length > 0 ? path.basename(snapshots[0].file) : null,
    snapshot_sequence: S,
    segments_scanned: segments.length,
    records_valid: recordsValid,
    records_replayed: replayed,
    bytes_truncated: truncations.reduce((n, t) => n + t.bytes, 0),
    truncations,
    corrupt_records_skipped: skipped,
    head,
    earliest_offset: firstSeq === 0 ? head + 1 : firstSeq,
    machine_versions: stats?.machines ?? null,
    live_instances: stats?.instances ?? null,
    tombstones: stats?.tombstones ?? null,
    idempotency_records: stats?.idempotency ?? null,
    duration_ms: Math.round(performance.now() - started),
  }
  logger.info({ source: 'wal', ...report, first_segment: segments.length > 0 ? segmentName(segments[0].id) : null }, 'storage recovered')
  return { segments, head, snapshotSequence: S, snapshots, sealLast, bytesRead, report }
}
