import t from 'tap'
import { crc32c } from '../../protocol/crc32c.js'
import {
  checkFrameHeader,
  encodeFrame,
  END_NOTICE_FLAGS,
  FRAME_HEADER_BYTES,
  readFrameHeader,
} from '../../protocol/frame.js'
import { encodeJsonlLine } from '../../protocol/jsonl.js'
import { encodeMessage } from '../../protocol/codec.js'

const VECTOR_PAYLOAD = '{"type":"request","id":"1","op":"PING"}'
const VECTOR_HEADER = '524350580001000100000000002715f193b1'

t.test('test vector of rcp.md §2.1', async (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283, 'CRC32C check value')
  const payload = Buffer.from(VECTOR_PAYLOAD)
  t.equal(payload.length, 39)
  const frame = encodeFrame(payload)
  t.equal(frame.subarray(0, FRAME_HEADER_BYTES).toString('hex'), VECTOR_HEADER)
  t.same(frame.subarray(FRAME_HEADER_BYTES), payload)
  t.same(readFrameHeader(frame), { flags: 1, headerLen: 0, payloadLen: 39, crc: 0x15f193b1 })
})

t.test('encodeFrame without CRC_PRESENT writes crc 0', async (t) => {
  const frame = encodeFrame(Buffer.from('{}'), 0)
  t.same(readFrameHeader(frame), { flags: 0, headerLen: 0, payloadLen: 2, crc: 0 })
})

t.test('encodeMessage: binary, jsonl and the end notice', async (t) => {
  const binary = encodeMessage({ type: 'request', id: '1', op: 'PING' }, 'binary')
  t.equal(binary.subarray(0, FRAME_HEADER_BYTES).toString('hex'), VECTOR_HEADER, 'objects are compact JSON')
  t.same(encodeMessage(VECTOR_PAYLOAD, 'binary'), binary, 'a string is taken as serialized JSON')

  const end = encodeMessage({ type: 'subscription_end' }, 'binary', true)
  const h = readFrameHeader(end)
  t.equal(h.flags, 0x000d)
  t.equal(h.flags, END_NOTICE_FLAGS)
  t.equal(h.crc, crc32c(end.subarray(FRAME_HEADER_BYTES)), 'end notice carries a correct CRC')

  t.equal(encodeMessage({ a: 'x\ny' }, 'jsonl').toString(), '{"a":"x\\ny"}\n', 'no raw newline inside a line')
  t.equal(encodeMessage({ type: 'subscription_end' }, 'jsonl', true).toString(), '{"type":"subscription_end"}\n', 'end notice is a normal line')
  t.equal(encodeJsonlLine({ b: [1, 2], c: '\r\u2028' }).toString(), '{"b":[1,2],"c":"\\r\u2028"}\n')

  const multi = encodeMessage({ s: 'é€😀' }, 'binary')
  t.equal(readFrameHeader(multi).payloadLen, Buffer.byteLength('{"s":"é€😀"}'), 'payload_len counts bytes, not characters')
})

t.test('encodeMessage refuses a payload over 16 MiB', async (t) => {
  const big = JSON.stringify({ s: 'x'.repeat(16 * 1024 * 1024) })
  for (const mode of ['binary', 'jsonl'] as const) {
    t.throws(() => encodeMessage(big, mode), { code: 'INTERNAL_ERROR', message: 'response exceeds max frame size' })
  }
  const exact = '"' + 'x'.repeat(16 * 1024 * 1024 - 2) + '"'
  t.equal(encodeMessage(exact, 'binary').length, FRAME_HEADER_BYTES + 16 * 1024 * 1024, 'exactly 16 MiB is allowed')
})

t.test('checkFrameHeader refuses as soon as the bytes show it', async (t) => {
  const good = encodeFrame(Buffer.from('{}'))
  for (let n = 0; n <= FRAME_HEADER_BYTES; n++) t.equal(checkFrameHeader(good, n), null, `valid prefix of ${n} bytes`)
  const bad = Buffer.from(good)
  bad[1] = 0x41
  t.equal(checkFrameHeader(bad, 1), null, 'only the bytes seen count')
  t.equal(checkFrameHeader(bad, 2), 'bad_magic')
})
