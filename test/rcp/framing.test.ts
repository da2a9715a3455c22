import t from 'tap'
import { rawClientFor, rawConnect, type RawConnection, rawFrame } from '../support/raw-client.js'
import { startServer } from '../support/server.js'
import { errorOf, resultOf, sleep, within } from './helpers.js'

const server = await startServer(t)
const watcher = await rawClientFor(t, server)

const HELLO = JSON.stringify({ type: 'request', id: 'h', op: 'HELLO', params: { protocol_version: 1, wire_modes: ['binary_json'] } })
const ping = (id: string): string => JSON.stringify({ type: 'request', id, op: 'PING' })

/** Reads the server's binary frames out of the raw bytes (checks what the server writes, too). */
function frames (bytes: Buffer): Array<{ version: number, flags: number, headerLen: number, message: any }> {
  const out = []
  let pos = 0
  while (pos + 18 <= bytes.length) {
    t.equal(bytes.toString('latin1', pos, pos + 4), 'RCPX')
    const len = bytes.readUInt32BE(pos + 10)
    out.push({
      version: bytes.readUInt16BE(pos + 4),
      flags: bytes.readUInt16BE(pos + 6),
      headerLen: bytes.readUInt16BE(pos + 8),
      message: JSON.parse(bytes.toString('utf8', pos + 18, pos + 18 + len)),
    })
    pos += 18 + len
  }
  return out
}

async function until (raw: RawConnection, count: number): Promise<ReturnType<typeof frames>> {
  for (let i = 0; i < 250; i++) {
    const got = frames(raw.received())
    if (got.length >= count) return got
    await sleep(20)
  }
  return frames(raw.received())
}

async function helloed (t: { teardown: (fn: () => void) => void }): Promise<RawConnection> {
  const raw = await rawConnect(server.rcpPort)
  t.teardown(() => raw.socket.destroy())
  raw.socket.write(rawFrame(HELLO))
  await until(raw, 1)
  return raw
}

t.test('the §2.1 test vector header is what the codec writes and what the server accepts', async t => {
  const frame = rawFrame('{"type":"request","id":"1","op":"PING"}')
  t.equal(frame.subarray(0, 18).toString('hex'), '524350580001000100000000002715f193b1')
  const raw = await helloed(t)
  raw.socket.write(frame)
  const got = await until(raw, 2)
  t.same(got[1].message.result, { pong: true })
  t.ok(got.every(f => f.version === 1 && f.flags === 1 && f.headerLen === 0), 'server frames: version 1, flags 0x0001, no extension')
})

t.test('a frame split into single bytes, and many frames and lines in one chunk', async t => {
  const raw = await rawConnect(server.rcpPort)
  t.teardown(() => raw.socket.destroy())
  raw.socket.setNoDelay(true)
  const bytes = rawFrame(HELLO)
  for (const byte of bytes) {
    raw.socket.write(Buffer.from([byte]))
    await sleep(1)
  }
  t.equal((await until(raw, 1))[0].message.result.wire_mode, 'binary_json')
  const parts: Buffer[] = []
  for (let i = 0; i < 50; i++) {
    parts.push(rawFrame(ping(`f${i}`)))
    parts.push(Buffer.from(ping(`l${i}`) + '\n'))
  }
  raw.socket.write(Buffer.concat(parts))
  const got = await until(raw, 101)
  t.same(got.slice(1).map(f => f.message.id), Array.from({ length: 50 }, (_, i) => [`f${i}`, `l${i}`]).flat())
})

t.test('CRC_PRESENT clear is accepted unchecked; a header extension is skipped; STREAM flags are ignored', async t => {
  const raw = await helloed(t)
  raw.socket.write(rawFrame(ping('nocrc'), { flags: 0, crc: 0xdeadbeef }))
  raw.socket.write(rawFrame(ping('ext'), { extension: Buffer.from('RCPX garbage {"id":"no"}') }))
  raw.socket.write(rawFrame(ping('stream'), { flags: 0x000d }))
  raw.socket.write(rawFrame(ping('zero'), { flags: 0, crc: 0 }))
  const got = await until(raw, 5)
  t.same(got.slice(1).map(f => [f.message.id, f.message.status]), [['nocrc', 'ok'], ['ext', 'ok'], ['stream', 'ok'], ['zero', 'ok']])
})

t.test('payloads that are not UTF-8, not JSON or not an object: BAD_REQUEST with id "", connection open', async t => {
  const raw = await helloed(t)
  raw.socket.write(rawFrame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])))
  raw.socket.write(rawFrame('{"id":"x",'))
  raw.socket.write(rawFrame('[1,2]'))
  raw.socket.write(rawFrame(''))
  raw.socket.write('{not json}\n')
  raw.socket.write('{"a":1}{"b":2}\n')
  raw.socket.write(rawFrame(ping('after')))
  const got = await until(raw, 8)
  const errors = got.slice(1, 7).map(f => f.message)
  t.equal(errors.length, 6)
  for (const e of errors) {
    t.equal(e.id, '')
    t.equal(errorOf(e).code, 'BAD_REQUEST')
  }
  t.same(resultOf(got[7].message), { pong: true })
})

const fatal: Array<[string, () => Buffer]> = [
  ['bad magic', () => rawFrame(ping('m'), { magic: 'RCPY' })],
  ['bad version', () => rawFrame(ping('v'), { version: 2 })],
  ['unknown flag bits', () => rawFrame(ping('f'), { flags: 0x0011 })],
  ['COMPRESSED', () => rawFrame(ping('c'), { flags: 0x0003 })],
  ['CRC mismatch', () => rawFrame(ping('crc'), { crc: 12345 })],
  ['payload_len over 16 MiB (header only)', () => rawFrame('', { payloadLen: 16 * 1024 * 1024 + 1 }).subarray(0, 18)],
]
for (const [name, make] of fatal) {
  t.test(`${name}: the connection is closed without a response; others are served`, async t => {
    const raw = await helloed(t)
    const before = raw.received().length
    raw.socket.write(make())
    t.ok(await within(raw.closed, 5000), 'closed')
    t.equal(raw.received().length, before, 'nothing written for it')
    t.same(resultOf(await watcher.request('PING')), { pong: true })
  })
}

t.test('a bad frame after HELLO but before any other request: also before HELLO', async t => {
  const raw = await rawConnect(server.rcpPort)
  raw.socket.write(rawFrame(ping('m'), { magic: 'RCP!' }))
  t.ok(await within(raw.closed, 5000))
  t.equal(raw.received().length, 0)
})
