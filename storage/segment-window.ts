import { HEADER_SIZE, MAGIC, MAX_LENGTH_FIELD } from './record.js'

const CHUNK = 1024 * 1024
const EMPTY = Buffer.alloc(0)

/** Reads `length` bytes at file `position` into `buf` at `offset`; returns the bytes read. */
export type ReadAt = (buf: Buffer, offset: number, length: number, position: number) => number | Promise<number>

/**
 * A window over a segment file, read a chunk at a time into one reused buffer, so
 * scanning a segment holds about a chunk in memory rather than the whole file
 * (64 MiB by default). Positions are file positions; `buf[0]` is at `start`.
 * Recovery reads synchronously (nothing else is served yet, and a thread-pool
 * round trip per chunk costs more than the copy); WAL_READ reads asynchronously.
 */
export class SegmentWindow {
  buf: Buffer = EMPTY
  start = 0
  /** valid bytes in buf */
  length = 0
  /** bytes read from the file so far */
  bytesRead = 0

  constructor (private readonly readAt: ReadAt, readonly size: number) {}

  /**
   * Offset in `buf` of the record at `pos` when it is wholly in the window (or the
   * window already reaches the end of the file); -1 when `loadRecord` must read it.
   */
  recordOffset (pos: number): number {
    const at = pos - this.start
    if (at < 0 || at > this.length) return -1
    if (this.start + this.length === this.size) return at
    const available = this.length - at
    return available >= HEADER_SIZE && available >= HEADER_SIZE + payloadLength(this.buf, at) ? at : -1
  }

  /** Reads the record at `pos` (or as much of it as the file holds) into the window; returns its offset in `buf`. */
  async loadRecord (pos: number): Promise<number> {
    await this.fill(pos, HEADER_SIZE)
    if (this.length >= HEADER_SIZE) {
      const need = HEADER_SIZE + payloadLength(this.buf, 0)
      if (this.length < need) await this.fill(pos, need)
    }
    return 0
  }

  /** Reads everything from `pos` to the end of the file into the window (to look past a bad record). */
  async loadRest (pos: number): Promise<number> {
    if (pos < this.start || this.start + this.length !== this.size) await this.fill(pos, this.size - pos)
    return pos - this.start
  }

  private async fill (pos: number, need: number): Promise<void> {
    const want = Math.max(0, Math.min(Math.max(CHUNK, need), this.size - pos))
    if (this.buf.length < want) this.buf = Buffer.allocUnsafe(Math.max(want, CHUNK))
    let n = 0
    while (n < want) {
      const bytesRead = await this.readAt(this.buf, n, want - n, pos + n)
      if (bytesRead === 0) break
      n += bytesRead
    }
    this.start = pos
    this.length = n
    this.bytesRead += n
  }
}

/** The payload length a record header at `at` announces, 0 when it is no plausible header. */
function payloadLength (buf: Buffer, at: number): number {
  if (buf.readUInt32BE(at) !== MAGIC) return 0
  const length = buf.readUInt32BE(at + 8)
  return length <= MAX_LENGTH_FIELD ? length : 0
}
