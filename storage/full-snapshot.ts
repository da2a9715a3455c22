import { createHash, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { syncDir } from './file-layer.js'

/** Full snapshot files (storage.md §6): JSON Lines with a header, body lines and a checksummed trailer. */
export const FULL_SNAPSHOT_NAME = /^full-(\d{20})\.jsonl$/

/**
 * A body line as storage sees it: an engine record tagged with `t` (the engine
 * defines the rest; storage only counts and passes it through).
 */
export interface SnapshotLine {
  t: 'machine' | 'instance' | 'idem'
  deleted?: boolean
}

export function fullSnapshotName (lastSequence: number): string {
  return `full-${String(lastSequence).padStart(20, '0')}.jsonl`
}

export interface FullSnapshotHeader {
  format: 'rstmdb.snapshot'
  format_version: 1
  kind: 'full'
  snapshot_id: string
  created_at: number
  last_sequence: number
}

export interface SnapshotCounts {
  machines: number
  instances: number
  idem: number
}

export interface FullSnapshotInfo {
  /** the file, or the object's name in cluster mode */
  file: string
  header: FullSnapshotHeader
  counts: SnapshotCounts
  /** live (not deleted) instances in the file */
  liveInstances: number
  sizeBytes: number
}

export class SnapshotCorruptError extends Error {
  readonly file: string
  constructor (file: string, reason: string) {
    super(`corrupt snapshot ${file}: ${reason}`)
    this.name = 'SnapshotCorruptError'
    this.file = file
  }
}

/** Full snapshot files of the directory, newest (highest last_sequence) first. */
export function listFullSnapshots (snapDir: string): Array<{ file: string, lastSequence: number }> {
  const found: Array<{ file: string, lastSequence: number }> = []
  for (const name of fs.readdirSync(snapDir)) {
    const m = FULL_SNAPSHOT_NAME.exec(name)
    if (m !== null) found.push({ file: path.join(snapDir, name), lastSequence: Number(m[1]) })
  }
  return found.sort((a, b) => b.lastSequence - a.lastSequence)
}

const FLUSH_BYTES = 256 * 1024

/** A full snapshot being encoded: its bytes chunk by chunk, and what they hold once all were taken. */
export interface SnapshotEncoding {
  /** header, body lines (flushed every FLUSH_BYTES) and trailer; walks the lines lazily */
  chunks: Iterable<Buffer>
  /** complete once `chunks` has been walked to its end */
  summary: () => Omit<FullSnapshotInfo, 'file'>
}

/**
 * Encodes a full snapshot (storage.md §6) of `lines` (a frozen view): the caller writes
 * each chunk before taking the next, so the view is walked across many event-loop turns
 * with backpressure, to a file or to an object store alike.
 */
export function encodeFullSnapshot (lines: Iterable<SnapshotLine>, lastSequence: number, now: number): SnapshotEncoding {
  const header: FullSnapshotHeader = {
    format: 'rstmdb.snapshot', format_version: 1, kind: 'full', snapshot_id: `snap-${randomUUID()}`, created_at: now, last_sequence: lastSequence,
  }
  const counts: SnapshotCounts = { machines: 0, instances: 0, idem: 0 }
  let liveInstances = 0
  let sizeBytes = 0
  function * chunks (): Generator<Buffer> {
    const hash = createHash('sha256')
    let pending = JSON.stringify(header) + '\n'
    const take = (): Buffer => {
      const buf = Buffer.from(pending, 'utf8')
      pending = ''
      hash.update(buf)
      sizeBytes += buf.length
      return buf
    }
    for (const line of lines) {
      if (line.t === 'machine') counts.machines++
      else if (line.t === 'instance') {
        counts.instances++
        if (!line.deleted) liveInstances++
      } else counts.idem++
      pending += JSON.stringify(line) + '\n'
      if (pending.length >= FLUSH_BYTES) yield take()
    }
    yield take()
    const trailer = Buffer.from(JSON.stringify({ t: 'end', ...counts, checksum: hash.digest('hex') }) + '\n', 'utf8')
    sizeBytes += trailer.length
    yield trailer
  }
  return { chunks: chunks(), summary: () => ({ header, counts, liveInstances, sizeBytes }) }
}

/**
 * Streams the lines (a frozen view, walked across many event-loop turns) to
 * `<name>.tmp`, awaiting each chunk's write (backpressure), then fsync, rename
 * and directory fsync.
 */
export async function writeFullSnapshot (snapDir: string, lines: Iterable<SnapshotLine>, lastSequence: number, now: number): Promise<FullSnapshotInfo> {
  const file = path.join(snapDir, fullSnapshotName(lastSequence))
  const tmp = `${file}.tmp`
  const encoding = encodeFullSnapshot(lines, lastSequence, now)
  const handle = await fs.promises.open(tmp, 'w', 0o644)
  try {
    for (const chunk of encoding.chunks) await handle.write(chunk)
    await handle.sync()
  } catch (err) {
    await handle.close().catch(() => {})
    await fs.promises.rm(tmp, { force: true })
    throw err
  }
  await handle.close()
  await fs.promises.rename(tmp, file)
  await syncDir(snapDir)
  return { file, ...encoding.summary() }
}

/**
 * Reads and verifies a full snapshot line by line (checksum, header, counts) from
 * its bytes; `name` is the file or object it came from. `onLine` sees each body
 * line as it is read, so callers that must not act on a corrupt snapshot verify
 * first (onLine omitted) and load in a second pass, or load into state they drop
 * when this throws SnapshotCorruptError.
 */
export async function parseFullSnapshot (source: AsyncIterable<Uint8Array>, name: string, onLine?: (line: SnapshotLine) => void): Promise<FullSnapshotInfo> {
  const hash = createHash('sha256')
  const counts: SnapshotCounts = { machines: 0, instances: 0, idem: 0 }
  let liveInstances = 0
  let header: FullSnapshotHeader | null = null
  let previous: Buffer | null = null
  let sizeBytes = 0

  const corrupt = (reason: string): never => { throw new SnapshotCorruptError(name, reason) }
  const parse = (buf: Buffer): Record<string, unknown> => {
    let value: unknown
    try {
      value = JSON.parse(buf.toString('utf8'))
    } catch {
      return corrupt('a line does not parse')
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return corrupt('a line is not an object')
    return value as Record<string, unknown>
  }
  const body = (buf: Buffer): void => {
    hash.update(buf)
    hash.update('\n')
    const value = parse(buf)
    if (header === null) {
      if (value.format !== 'rstmdb.snapshot' || value.format_version !== 1 || value.kind !== 'full' ||
        !Number.isSafeInteger(value.last_sequence) || (value.last_sequence as number) < 0) corrupt('bad header')
      header = value as unknown as FullSnapshotHeader
      return
    }
    if (value.t === 'machine') counts.machines++
    else if (value.t === 'instance') {
      counts.instances++
      if (value.deleted !== true) liveInstances++
    } else if (value.t === 'idem') counts.idem++
    else corrupt(`unknown line kind ${String(value.t)}`)
    onLine?.(value as unknown as SnapshotLine)
  }

  let rest: Buffer = Buffer.alloc(0)
  for await (const chunk of source) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    sizeBytes += bytes.length
    let data: Buffer = rest.length > 0 ? Buffer.concat([rest, bytes]) : bytes
    let start = 0
    let nl: number
    while ((nl = data.indexOf(0x0a, start)) !== -1) {
      if (previous !== null) body(previous)
      previous = data.subarray(start, nl)
      start = nl + 1
    }
    rest = data.subarray(start)
    data = rest
  }
  if (rest.length > 0) {
    if (previous !== null) body(previous)
    previous = rest
  }
  if (previous === null || header === null) return corrupt('missing header or trailer')
  const trailer = parse(previous)
  if (trailer.t !== 'end') corrupt('missing trailer')
  if (trailer.machines !== counts.machines || trailer.instances !== counts.instances || trailer.idem !== counts.idem) corrupt('counts do not match')
  if (trailer.checksum !== hash.digest('hex')) corrupt('checksum mismatch')
  const expected = FULL_SNAPSHOT_NAME.exec(path.basename(name))
  if (expected !== null && Number(expected[1]) !== (header as FullSnapshotHeader).last_sequence) corrupt('last_sequence does not match the file name')
  return { file: name, header, counts, liveInstances, sizeBytes }
}

/** Reads and verifies a full snapshot file (see parseFullSnapshot). */
export async function readFullSnapshot (file: string, onLine?: (line: SnapshotLine) => void): Promise<FullSnapshotInfo> {
  return await parseFullSnapshot(fs.createReadStream(file, { highWaterMark: 1024 * 1024 }), file, onLine)
}
