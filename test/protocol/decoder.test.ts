import t from 'tap'
import { createMessageDecoder, parseMessage, type FatalReason, type WireMode } from '../../protocol/codec.js'
import { encodeFrame, FRAME_HEADER_BYTES } from '../../protocol/frame.js'
import { EnvelopeError } from '../../protocol/validate.js'
import { prng } from '../support/prng.js'

const MiB = 1024 * 1024

interface Decoded {
  messages: Array<{ mode: WireMode, payload: Buffer }>
  fatal: FatalReason | null
}

function decode (chunks: Buffer[]): Decoded {
  const decoder = createMessageDecoder()
  const messages: Decoded['messages'] = []
  let fatal: FatalReason | null = null
  for (const chunk of chunks) {
    fatal = decoder.push(chunk, (mode, payload) => messages.push({ mode, payload }))
  }
  return { messages, fatal }
}

const texts = (d: Decoded) => d.messages.map((m) => `${m.mode}:${m.payload.toString()}`)

/** A frame header with every field under the test's control. */
function header (fields: { magic?: string, version?: number, flags?: number, headerLen?: number, payloadLen: number, crc?: number }): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_BYTES)
  h.write(fields.magic ?? 'RCPX', 0, 'latin1')
  h.writeUInt16BE(fields.version ?? 1, 4)
  h.writeUInt16BE(fields.flags ?? 0, 6)
  h.writeUInt16BE(fields.headerLen ?? 0, 8)
  h.writeUInt32BE(fields.payloadLen, 10)
  h.writeUInt32BE(fields.crc ?? 0, 14)
  return h
}

const PING = Buffer.from('{"type":"request","id":"1","op":"PING"}')

t.test('a binary frame and a JSONL line', async (t) => {
  const d = decode([encodeFrame(PING), Buffer.from('{"id":"2","op":"PING"}\n')])
  t.equal(d.fatal, null)
  t.same(texts(d), [`binary:${PING}`, 'jsonl:{"id":"2","op":"PING"}'])
})

t.test('inbound frame conditions of rcp.md §2.1', async (t) => {
  const cases: Array<[string, Buffer[], FatalReason]> = [
    ['magic ≠ RCPX', [header({ magic: 'RCPY', payloadLen: 2 }), Buffer.from('{}')], 'bad_magic'],
    ['version 0', [header({ version: 0, payloadLen: 2 }), Buffer.from('{}')], 'bad_version'],
    ['version 2', [header({ version: 2, payloadLen: 2 }), Buffer.from('{}')], 'bad_version'],
    ['flag bit 0x0010', [header({ flags: 0x0010, payloadLen: 2 }), Buffer.from('{}')], 'bad_flags'],
    ['flag bit 0x8000', [header({ flags: 0x8001, payloadLen: 2 }), Buffer.from('{}')], 'bad_flags'],
    ['COMPRESSED', [header({ flags: 0x0002, payloadLen: 2 }), Buffer.from('{}')], 'compressed'],
    ['COMPRESSED with CRC', [header({ flags: 0x0003, payloadLen: 2 }), Buffer.from('{}')], 'compressed'],
    ['CRC mismatch', [header({ flags: 0x0001, payloadLen: 2, crc: 12345 }), Buffer.from('{}')], 'crc_mismatch'],
  ]
  for (const [name, chunks, reason] of cases) {
    const d = decode(chunks)
    t.equal(d.fatal, reason, name)
    t.equal(d.messages.length, 0, `${name}: nothing delivered`)
  }
})

t.test('a wrong magic is refused from its first wrong byte', async (t) => {
  t.equal(decode([Buffer.from('RX')]).fatal, 'bad_magic')
  t.equal(decode([Buffer.from('RCP')]).fatal, null, 'a valid prefix waits for more')
})

t.test('payload_len > 16 MiB closes once the header is read, before any payload', async (t) => {
  t.equal(decode([header({ payloadLen: 16 * MiB + 1 })]).fatal, 'payload_too_large')
  t.equal(decode([header({ payloadLen: 0xffffffff })]).fatal, 'payload_too_large')
  const partial = header({ payloadLen: 16 * MiB + 1 }).subarray(0, 14)
  t.equal(decode([partial]).fatal, 'payload_too_large', 'payload_len is judged as soon as its 4 bytes are in')
  t.equal(decode([header({ payloadLen: 16 * MiB })]).fatal, null, 'exactly 16 MiB is allowed')
})

t.test('CRC_PRESENT clear: no CRC check', async (t) => {
  const d = decode([header({ payloadLen: PING.length, crc: 0xdeadbeef }), PING])
  t.equal(d.fatal, null)
  t.same(texts(d), [`binary:${PING}`])
})

t.test('header extension bytes are skipped, also across chunks', async (t) => {
  const frame = Buffer.concat([header({ headerLen: 5, payloadLen: PING.length }), Buffer.from('xxxxx'), PING])
  for (let cut = 1; cut < frame.length; cut++) {
    const d = decode([frame.subarray(0, cut), frame.subarray(cut)])
    t.same(texts(d), [`binary:${PING}`], `split at ${cut}`)
  }
  const onlyExtension = Buffer.concat([header({ headerLen: 3, payloadLen: 0 }), Buffer.from('abc')])
  t.same(decode([onlyExtension]).messages.map((m) => m.payload.length), [0], 'extension then empty payload')
})

t.test('STREAM and END_STREAM on inbound frames are ignored', async (t) => {
  const d = decode([encodeFrame(PING, 0x000d), encodeFrame(PING, 0x0004), encodeFrame(PING, 0x0008)])
  t.equal(d.fatal, null)
  t.equal(d.messages.length, 3)
})

t.test('an empty payload is a message (BAD_REQUEST later, not fatal)', async (t) => {
  const d = decode([encodeFrame(Buffer.alloc(0)), encodeFrame(PING)])
  t.equal(d.fatal, null)
  t.same(d.messages.map((m) => m.payload.length), [0, PING.length])
})

t.test('mode sniffing at every message boundary (§2.3)', async (t) => {
  const stream = Buffer.concat([
    Buffer.from(' \t\r\n'),
    encodeFrame(PING),
    Buffer.from('\n{"a":1}\r\n\r\n   \n\t\n'),
    encodeFrame(Buffer.from('{"b":2}')),
    Buffer.from('{"c":3}\n'),
  ])
  const d = decode([stream])
  t.equal(d.fatal, null)
  t.same(texts(d), [`binary:${PING}`, 'jsonl:{"a":1}', 'binary:{"b":2}', 'jsonl:{"c":3}'])

  for (const lead of ['G', '[', '"', '1', '\0', 'r', '\f', '\v']) {
    t.equal(decode([Buffer.from(lead)]).fatal, 'bad_lead_byte', `lead byte ${JSON.stringify(lead)}`)
  }
  t.equal(decode([Buffer.from('GET / HTTP/1.1\r\n')]).fatal, 'bad_lead_byte', 'HTTP is the wrong protocol')
})

t.test('messages before a fatal byte are delivered; the decoder then stays failed', async (t) => {
  const decoder = createMessageDecoder()
  const seen: string[] = []
  const push = (s: string | Buffer) => decoder.push(Buffer.from(s), (_m, p) => seen.push(p.toString()))
  t.equal(push('{"a":1}\n!'), 'bad_lead_byte')
  t.same(seen, ['{"a":1}'])
  t.equal(push('{"b":2}\n'), 'bad_lead_byte', 'further input is ignored')
  t.same(seen, ['{"a":1}'])
})

t.test('JSONL rules (§2.2)', async (t) => {
  t.same(texts(decode([Buffer.from('{"a":1}\r\n')])), ['jsonl:{"a":1}'], 'trailing \\r stripped')
  t.same(texts(decode([Buffer.from('{"a":"\r"}\r\r\n')])), ['jsonl:{"a":"\r"}\r'], 'only one trailing \\r is stripped')
  t.same(texts(decode([Buffer.from('{"a":1} \t\n')])), ['jsonl:{"a":1} \t'], 'trailing spaces are left to JSON.parse')
  t.same(texts(decode([Buffer.from('\n\n  \r\n\t\n')])), [], 'blank and whitespace-only lines are ignored')
  t.same(texts(decode([Buffer.from('{not json\n')])), ['jsonl:{not json'], 'non-JSON is delivered, not fatal')
  t.same(texts(decode([Buffer.from('{"a":1}')])), [], 'a line waits for its newline')
})

t.test('JSONL line length limit', async (t) => {
  const body = (n: number) => Buffer.concat([Buffer.from('{"s":"'), Buffer.alloc(n - 8, 0x61), Buffer.from('"}')])
  const exact = body(16 * MiB)
  t.equal(exact.length, 16 * MiB)

  let d = decode([exact, Buffer.from('\n')])
  t.equal(d.fatal, null, 'exactly 16 MiB is allowed')
  t.equal(d.messages[0].payload.length, 16 * MiB)

  d = decode([exact, Buffer.from('\r\n')])
  t.equal(d.fatal, null, '16 MiB plus \\r\\n is allowed')
  t.equal(d.messages[0].payload.length, 16 * MiB)

  t.equal(decode([exact, Buffer.from('x\n')]).fatal, 'line_too_long', '16 MiB + 1 byte')
  t.equal(decode([exact, Buffer.from('xx')]).fatal, 'line_too_long', 'refused without waiting for the newline')
  t.equal(decode([exact, Buffer.from('\r\r\n')]).fatal, 'line_too_long', 'only one \\r is slack')
})

t.test('parseMessage', async (t) => {
  t.same(parseMessage(Buffer.from('{"id":"1","op":"PING"}')), { id: '1', op: 'PING' })
  t.same(parseMessage(Buffer.from(' {"a":"é"} ')), { a: 'é' }, 'surrounding whitespace is fine')
  const bad: Array<[string, Buffer, string]> = [
    ['not JSON', Buffer.from('{nope'), 'invalid_json'],
    ['empty', Buffer.alloc(0), 'invalid_json'],
    ['array', Buffer.from('[1,2]'), 'not_an_object'],
    ['string', Buffer.from('"x"'), 'not_an_object'],
    ['null', Buffer.from('null'), 'not_an_object'],
    ['number', Buffer.from('42'), 'not_an_object'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'invalid_utf8'],
    ['overlong UTF-8', Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]), 'invalid_utf8'],
  ]
  for (const [name, payload, reason] of bad) {
    try {
      parseMessage(payload)
      t.fail(`${name}: should throw`)
    } catch (err) {
      t.ok(err instanceof EnvelopeError, name)
      const e = err as EnvelopeError
      t.equal(e.code, 'BAD_REQUEST', name)
      t.equal(e.id, '', `${name}: echoes id ""`)
      t.same(e.details, { reason }, name)
    }
  }
})

t.test('randomised split points give the same messages (seeded)', async (t) => {
  const random = prng(0x5eed)
  const expected: string[] = []
  const pieces: Buffer[] = []
  for (let i = 0; i < 300; i++) {
    const payload = JSON.stringify({ i, pad: 'p'.repeat(Math.floor(random() * 300)), u: 'é€😀' })
    const kind = random()
    if (kind < 0.4) {
      pieces.push(encodeFrame(Buffer.from(payload)))
      expected.push(`binary:${payload}`)
    } else if (kind < 0.5) {
      const ext = Math.floor(random() * 20)
      const p = Buffer.from(payload)
      pieces.push(header({ headerLen: ext, payloadLen: p.length }), Buffer.alloc(ext, 0x41), p)
      expected.push(`binary:${payload}`)
    } else {
      pieces.push(Buffer.from(payload + (random() < 0.5 ? '\r\n' : '\n')))
      expected.push(`jsonl:${payload}`)
    }
    if (random() < 0.2) pieces.push(Buffer.from(' \n\t\r'.slice(0, 1 + Math.floor(random() * 4))))
  }
  const stream = Buffer.concat(pieces)

  t.same(texts(decode([stream])), expected, 'all in one chunk')
  const bytewise: Buffer[] = []
  for (let i = 0; i < stream.length; i++) bytewise.push(stream.subarray(i, i + 1))
  t.same(texts(decode(bytewise)), expected, 'one byte per chunk')

  for (let round = 0; round < 20; round++) {
    const chunks: Buffer[] = []
    let pos = 0
    const maxChunk = 1 + Math.floor(random() * 4096)
    while (pos < stream.length) {
      const n = 1 + Math.floor(random() * maxChunk)
      chunks.push(stream.subarray(pos, pos + n))
      pos += n
    }
    const d = decode(chunks)
    t.equal(d.fatal, null)
    t.same(texts(d), expected, `round ${round}: ${chunks.length} chunks of at most ${maxChunk} bytes`)
  }
})

t.test('16 MiB messages in 64 KiB chunks', async (t) => {
  const body = Buffer.concat([Buffer.from('{"s":"'), Buffer.alloc(16 * MiB - 8, 0x62), Buffer.from('"}')])
  const inChunks = (data: Buffer) => {
    const chunks: Buffer[] = []
    for (let pos = 0; pos < data.length; pos += 64 * 1024) chunks.push(data.subarray(pos, pos + 64 * 1024))
    return chunks
  }
  const frame = encodeFrame(body)
  let d = decode(inChunks(Buffer.concat([frame, frame])))
  t.equal(d.fatal, null)
  t.equal(d.messages.length, 2, 'two binary frames')
  t.ok(d.messages.every((m) => m.mode === 'binary' && m.payload.equals(body)))

  d = decode(inChunks(Buffer.concat([body, Buffer.from('\n'), body, Buffer.from('\r\n')])))
  t.equal(d.fatal, null)
  t.equal(d.messages.length, 2, 'two JSONL lines')
  t.ok(d.messages.every((m) => m.mode === 'jsonl' && m.payload.equals(body)))
})
