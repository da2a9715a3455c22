import { crc32c as nativeCrc32c } from '@node-rs/crc32'

/** CRC32C (Castagnoli), as used by RCP frames (rcp.md §2.1) and WAL records (storage.md §2). */
export function crc32c (data: Uint8Array): number {
  return nativeCrc32c(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)) >>> 0
}
