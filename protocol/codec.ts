import { isUtf8 } from 'node:buffer'
import { crc32c } from './crc32c.js'
import { MAX_MESSAGE_BYTES, type JsonObject } from './entries.js'
import { RcpError } from './errors.js'
import {
  checkFrameHeader,
  END_NOTICE_FLAGS,
  FLAG_CRC_PRESENT,
  FRAME_HEADER_BYTES,
  readFrameHeader,
  writeFrameHeader,
  type FrameFault,
} from './frame.js'
import { encodeJsonlLine, MAX_LINE_BYTES } from './jsonl.js'
import { EnvelopeError, isJsonObject } from './validate.js'

/** What one connection reads and writes (rcp.md §2). */

/** Framing of one message: a `binary_json` frame or a JSONL line. */
export type WireMode = 'binary' | 'jsonl'

/** Why the inbound stream is unusable: the connection is closed, nothing written (rcp.md §2.1–2.3). */
export type FatalReason = FrameFault | 'crc_mismatch' | 'bad_lead_byte' | 'line_too_long'

/** `flags` are the frame's header flags (rcp.md §2.1); 0 for a JSONL line. */
export type MessageHandler = (mode: WireMode, payload: Buffer, flags: number) => void

export interface MessageDecoder {
  /**
   * Decodes what `chunk` completes and calls `onMessage` for each message, in order.
   * Returns null, or the reason the connection must close; once a reason is returned
   * the decoder stays failed and ignores further input.
   */
  push: (chunk: Buffer, onMessage: MessageHandler) => FatalReason | null
}

const SPACE = 0x20
const TAB = 0x09
const CR = 0x0d
const LF = 0x0a
const LEAD_FRAME = 0x52 // 'R'
const LEAD_LINE = 0x7b // '{'

type State = 'between' | 'header' | 'extension' | 'payload' | 'line'

/**
 * The inbound side of a connection. At every message boundary the next byte picks the
 * framing (§2.3): whitespace is skipped, `R` starts a frame, `{` a JSONL line, anything
 * else is fatal. Partial messages are kept as a list of chunk slices and joined once,
 * when complete, so a 16 MiB message in 64 KiB chunks costs O(n).
 */
export function createMessageDecoder (): MessageDecoder {
  let state: State = 'between'
  let fatal: FatalReason | null = null
  const header = Buffer.alloc(FRAME_HEADER_BYTES)
  let headerFilled = 0
  let extensionLeft = 0
  let payloadLeft = 0
  let flags = 0
  let crc = 0
  let parts: Buffer[] = []
  let partsLen = 0

  function take (): Buffer {
    const out = parts.length === 1 ? parts[0] : Buffer.concat(parts, partsLen)
    parts = []
    partsLen = 0
    return out
  }

  function keep (slice: Buffer): void {
    if (slice.length === 0) return
    parts.push(slice)
    partsLen += slice.length
  }

  /** The frame is complete once its extension is skipped and its payload collected. */
  function frameDone (onMessage: MessageHandler): FatalReason | null {
    if (extensionLeft > 0 || payloadLeft > 0) return null
    const payload = partsLen === 0 ? Buffer.alloc(0) : take()
    state = 'between'
    if ((flags & FLAG_CRC_PRESENT) !== 0 && crc32c(payload) !== crc) return 'crc_mismatch'
    onMessage('binary', payload, flags)
    return null
  }

  function decode (chunk: Buffer, onMessage: MessageHandler): FatalReason | null {
    let pos = 0
    while (pos < chunk.length) {
      switch (state) {
        case 'between': {
          const byte = chunk[pos]
          if (byte === SPACE || byte === TAB || byte === CR || byte === LF) {
            pos++
          } else if (byte === LEAD_FRAME) {
            state = 'header'
            headerFilled = 0
          } else if (byte === LEAD_LINE) {
            state = 'line'
          } else {
            return 'bad_lead_byte'
          }
          break
        }
        case 'header': {
          const n = Math.min(FRAME_HEADER_BYTES - headerFilled, chunk.length - pos)
          chunk.copy(header, headerFilled, pos, pos + n)
          headerFilled += n
          pos += n
          const fault = checkFrameHeader(header, headerFilled)
          if (fault !== null) return fault
          if (headerFilled < FRAME_HEADER_BYTES) break
          const h = readFrameHeader(header)
          flags = h.flags
          crc = h.crc
          extensionLeft = h.headerLen
          payloadLeft = h.payloadLen
          state = extensionLeft > 0 ? 'extension' : 'payload'
          const end = frameDone(onMessage)
          if (end !== null) return end
          break
        }
        case 'extension': {
          const n = Math.min(extensionLeft, chunk.length - pos)
          extensionLeft -= n
          pos += n
          if (extensionLeft === 0) state = 'payload'
          const end = frameDone(onMessage)
          if (end !== null) return end
          break
        }
        case 'payload': {
          const n = Math.min(payloadLeft, chunk.length - pos)
          keep(chunk.subarray(pos, pos + n))
          payloadLeft -= n
          pos += n
          const end = frameDone(onMessage)
          if (end !== null) return end
          break
        }
        case 'line': {
          const newline = chunk.indexOf(LF, pos)
          const stop = newline === -1 ? chunk.length : newline
          // one byte of slack for a trailing \r, which is not part of the line
          if (partsLen + (stop - pos) > MAX_LINE_BYTES + 1) return 'line_too_long'
          keep(chunk.subarray(pos, stop))
          pos = stop
          if (newline === -1) break
          pos++
          let line = take()
          if (line[line.length - 1] === CR) line = line.subarray(0, line.length - 1)
          if (line.length > MAX_LINE_BYTES) return 'line_too_long'
          state = 'between'
          onMessage('jsonl', line, 0)
          break
        }
      }
    }
    return null
  }

  return {
    push (chunk, onMessage) {
      if (fatal === null) fatal = decode(chunk, onMessage)
      return fatal
    },
  }
}

/**
 * A message payload as a JSON object. Anything else is BAD_REQUEST with id "" and the
 * connection stays open (rcp.md §2.1, §2.2): throws EnvelopeError with `details.reason`
 * `invalid_utf8`, `invalid_json` or `not_an_object`.
 */
export function parseMessage (payload: Buffer): JsonObject {
  if (!isUtf8(payload)) throw new EnvelopeError('', 'message is not valid UTF-8', { reason: 'invalid_utf8' })
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch {
    throw new EnvelopeError('', 'message is not valid JSON', { reason: 'invalid_json' })
  }
  if (!isJsonObject(value)) throw new EnvelopeError('', 'message must be a JSON object', { reason: 'not_an_object' })
  return value
}

/**
 * One outbound message in the connection's mode. `message` is an object, or JSON that
 * is already serialized (shared event bodies). `end` marks the subscription end notice,
 * whose frame has flags 0x000D (§10.4); in JSONL it is an ordinary line. Throws
 * INTERNAL_ERROR "response exceeds max frame size" when the payload is over 16 MiB, so
 * the caller can answer with that error instead (§4.2).
 */
export function encodeMessage (message: object | string, mode: WireMode, end = false): Buffer {
  const text = typeof message === 'string' ? message : JSON.stringify(message)
  const length = Buffer.byteLength(text, 'utf8')
  if (length > MAX_MESSAGE_BYTES) throw new RcpError('INTERNAL_ERROR', 'response exceeds max frame size')
  if (mode === 'jsonl') return encodeJsonlLine(text)
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length)
  frame.write(text, FRAME_HEADER_BYTES, 'utf8')
  writeFrameHeader(frame, length, end ? END_NOTICE_FLAGS : FLAG_CRC_PRESENT)
  return frame
}
