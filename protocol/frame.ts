import { crc32c } from './crc32c.js'
import { MAX_MESSAGE_BYTES } from './entries.js'

/** `binary_json` frames (rcp.md §2.1). All integers big-endian. */

export const FRAME_MAGIC = 0x52435058 // 'RCPX'
export const FRAME_VERSION = 1
export const FRAME_HEADER_BYTES = 18

export const FLAG_CRC_PRESENT = 0x0001
export const FLAG_COMPRESSED = 0x0002
export const FLAG_STREAM = 0x0004
export const FLAG_END_STREAM = 0x0008
export const KNOWN_FLAGS = 0x000f
/** Flags of the subscription end notice (rcp.md §10.4): CRC_PRESENT | STREAM | END_STREAM. */
export const END_NOTICE_FLAGS = FLAG_CRC_PRESENT | FLAG_STREAM | FLAG_END_STREAM

/** Why an inbound frame closes the connection. */
export type FrameFault = 'bad_magic' | 'bad_version' | 'bad_flags' | 'compressed' | 'payload_too_large'

export interface FrameHeader {
  flags: number
  headerLen: number
  payloadLen: number
  crc: number
}

/** Server output: version 1, header_len 0, and the CRC whenever CRC_PRESENT is set. */
export function encodeFrame (payload: Buffer, flags = FLAG_CRC_PRESENT): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length)
  payload.copy(frame, FRAME_HEADER_BYTES)
  writeFrameHeader(frame, payload.length, flags)
  return frame
}

/** Fills the header of a frame whose payload already sits at offset 18 of `frame`. */
export function writeFrameHeader (frame: Buffer, payloadLen: number, flags: number): void {
  frame.writeUInt32BE(FRAME_MAGIC, 0)
  frame.writeUInt16BE(FRAME_VERSION, 4)
  frame.writeUInt16BE(flags, 6)
  frame.writeUInt16BE(0, 8)
  frame.writeUInt32BE(payloadLen, 10)
  const crc = (flags & FLAG_CRC_PRESENT) !== 0 ? crc32c(frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + payloadLen)) : 0
  frame.writeUInt32BE(crc, 14)
}

const MAGIC_BYTES = [0x52, 0x43, 0x50, 0x58]

/**
 * Checks the first `filled` bytes of an inbound header, as far as they go, so a
 * wrong protocol is refused without waiting for all 18 bytes and an oversized
 * payload is refused before any of it is buffered.
 */
export function checkFrameHeader (header: Buffer, filled: number): FrameFault | null {
  for (let i = 0; i < Math.min(filled, 4); i++) {
    if (header[i] !== MAGIC_BYTES[i]) return 'bad_magic'
  }
  if (filled >= 6 && header.readUInt16BE(4) !== FRAME_VERSION) return 'bad_version'
  if (filled >= 8) {
    const flags = header.readUInt16BE(6)
    if ((flags & ~KNOWN_FLAGS) !== 0) return 'bad_flags'
    if ((flags & FLAG_COMPRESSED) !== 0) return 'compressed'
  }
  if (filled >= 14 && header.readUInt32BE(10) > MAX_MESSAGE_BYTES) return 'payload_too_large'
  return null
}

/** Reads a complete header that checkFrameHeader accepted. */
export function readFrameHeader (header: Buffer): FrameHeader {
  return {
    flags: header.readUInt16BE(6),
    headerLen: header.readUInt16BE(8),
    payloadLen: header.readUInt32BE(10),
    crc: header.readUInt32BE(14),
  }
}
