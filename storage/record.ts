import { crc32c } from '../protocol/crc32c.js'
import { ENTRY_TYPE_CODES, MAX_RECORD_PAYLOAD } from '../protocol/entries.js'
import type { WalEntry } from '../protocol/entries.js'
import { RcpError } from '../protocol/errors.js'

/** WAL record layout (storage.md §2), big-endian. */
export const HEADER_SIZE = 24
export const MAGIC = 0x574c4f47 // 'WLOG'
export const MAGIC_BYTES = Buffer.from('WLOG', 'ascii')
export const FLAG_GROUP_CONT = 0x01
export const NOOP_TYPE = 255
/** Largest length field a reader accepts (§2); the writer's own cap is MAX_RECORD_PAYLOAD. */
export const MAX_LENGTH_FIELD = 16 * 1024 * 1024

const KNOWN_TYPES = new Uint8Array(256)
for (const code of [...Object.values(ENTRY_TYPE_CODES), NOOP_TYPE]) KNOWN_TYPES[code] = 1

function isKnownType (type: number): boolean {
  return KNOWN_TYPES[type] === 1
}

/**
 * Encodes one entry as a full record with sequence 0: the payload is serialized
 * once, straight into the record buffer. Throws BAD_REQUEST record_too_large
 * before any sequence exists, so an oversized write changes nothing.
 */
export function encodeRecord (entry: WalEntry): Buffer {
  const json = JSON.stringify(entry)
  const size = Buffer.byteLength(json)
  if (size > MAX_RECORD_PAYLOAD) {
    throw new RcpError('BAD_REQUEST', `WAL record too large: ${size} bytes (limit ${MAX_RECORD_PAYLOAD})`,
      { reason: 'record_too_large', size, limit: MAX_RECORD_PAYLOAD })
  }
  const buf = Buffer.allocUnsafe(HEADER_SIZE + size)
  buf.writeUInt32BE(MAGIC, 0)
  buf[4] = ENTRY_TYPE_CODES[entry.type]
  buf[5] = 0
  buf.writeUInt16BE(0, 6)
  buf.writeUInt32BE(size, 8)
  buf.write(json, HEADER_SIZE, 'utf8')
  buf.writeUInt32BE(crc32c(buf.subarray(HEADER_SIZE)), 12)
  return buf
}

/** Stamps the sequence (and GROUP_CONT) into an encoded record; the CRC covers the payload only. */
export function stampRecord (record: Buffer, sequence: number, groupCont: boolean): void {
  record[5] = groupCont ? FLAG_GROUP_CONT : 0
  record.writeUInt32BE(Math.floor(sequence / 0x100000000), 16)
  record.writeUInt32BE(sequence >>> 0, 20)
}

export function readSequence (buf: Buffer, at: number): number {
  return buf.readUInt32BE(at + 16) * 0x100000000 + buf.readUInt32BE(at + 20)
}

/** The fields of a decoded record. A scan reuses one such object for every record it decodes. */
export interface DecodedRecord {
  type: number
  flags: number
  sequence: number
  entry: WalEntry
  /** total bytes: header + payload */
  size: number
}

export function emptyDecodedRecord (): DecodedRecord {
  return { type: 0, flags: 0, sequence: 0, entry: null as unknown as WalEntry, size: 0 }
}

/** Why a record at a position is not valid (storage.md §5.3). */
export type RecordFault =
  | 'incomplete_header'
  | 'incomplete_payload'
  | 'bad_magic'
  | 'unknown_type'
  | 'length_too_large'
  | 'crc_mismatch'
  | 'bad_payload'
  | 'sequence_not_increasing'

export interface InvalidRecord {
  fault: RecordFault
  /** the header's sequence field, null when the header is cut short or has no magic */
  sequence: number | null
}

/**
 * Decodes the record at `at` of `buf` (which ends at `end`) into `out`, requiring a
 * sequence above `prevSequence`. Returns null when the record is valid, else why
 * not. A valid record allocates nothing but its entry: recovery decodes millions.
 */
export function decodeRecordAt (buf: Buffer, at: number, end: number, prevSequence: number, out: DecodedRecord): InvalidRecord | null {
  if (end - at < HEADER_SIZE) return { fault: 'incomplete_header', sequence: null }
  if (buf.readUInt32BE(at) !== MAGIC) return { fault: 'bad_magic', sequence: null }
  const type = buf[at + 4]
  const length = buf.readUInt32BE(at + 8)
  const sequence = readSequence(buf, at)
  if (!isKnownType(type)) return { fault: 'unknown_type', sequence }
  if (length > MAX_LENGTH_FIELD) return { fault: 'length_too_large', sequence }
  const start = at + HEADER_SIZE
  const stop = start + length
  if (stop > end) return { fault: 'incomplete_payload', sequence }
  if (crc32c(buf.subarray(start, stop)) !== buf.readUInt32BE(at + 12)) return { fault: 'crc_mismatch', sequence }
  let entry: unknown
  try {
    entry = JSON.parse(buf.toString('utf8', start, stop))
  } catch {
    return { fault: 'bad_payload', sequence }
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return { fault: 'bad_payload', sequence }
  if (sequence <= prevSequence || sequence < 1 || sequence > Number.MAX_SAFE_INTEGER) return { fault: 'sequence_not_increasing', sequence }
  out.type = type
  out.flags = buf[at + 5]
  out.sequence = sequence
  out.entry = entry as WalEntry
  out.size = HEADER_SIZE + length
  return null
}
