import t from 'tap'
import { newId, type RawClient, rawClientFor, rawConnect } from '../support/raw-client.js'
import type { WireMode } from '../../protocol/codec.js'
import { startServer } from '../support/server.js'
import { errorOf, resultOf, sleep, within } from './helpers.js'

const server = await startServer(t)

/** Sends one request in the given framing and returns the response with the framing it came back in. */
async function ask (c: RawClient, mode: WireMode, op: string, params?: unknown): Promise<{ mode: WireMode, response: any }> {
  const id = newId()
  const response = c.waitFor(m => m.type === 'response' && m.id === id)
  c.send({ type: 'request', id, op, ...(params === undefined ? {} : { params }) }, mode)
  const message = await response
  const entry = c.messages.find(m => m.message === message)
  return { mode: entry?.mode as WireMode, response: message }
}

t.test('the server writes nothing before the HELLO response', async t => {
  const raw = await rawConnect(server.rcpPort)
  t.teardown(() => raw.socket.destroy())
  await sleep(200)
  t.equal(raw.received().length, 0)
})

t.test('before HELLO every other op gets handshake_required in the request framing, connection open', async t => {
  const c = await rawClientFor(t, server, { hello: false })
  for (const mode of ['binary', 'jsonl'] as const) {
    for (const op of ['PING', 'INFO', 'AUTH', 'BYE', 'LIST_MACHINES']) {
      const { mode: got, response } = await ask(c, mode, op)
      t.equal(got, mode, `${op} answered in ${mode}`)
      const error = errorOf(response)
      t.equal(error.code, 'BAD_REQUEST')
      t.same(error.details, { reason: 'handshake_required' })
      t.ok(response.meta, 'meta present')
    }
  }
  const { response } = await ask(c, 'binary', 'HELLO', { protocol_version: 1 })
  t.equal(resultOf(response).protocol_version, 1)
  t.equal(resultOf((await ask(c, 'binary', 'PING')).response).pong, true)
})

t.test('a repeated HELLO gets already_handshaken and changes nothing', async t => {
  const c = await rawClientFor(t, server, { hello: false })
  t.equal(resultOf((await ask(c, 'binary', 'HELLO', { protocol_version: 1, wire_modes: ['binary_json'] })).response).wire_mode, 'binary_json')
  const again = await ask(c, 'jsonl', 'HELLO', { protocol_version: 1, wire_modes: ['jsonl'] })
  t.equal(again.mode, 'binary', 'the outbound mode is still the first HELLO\'s')
  t.same(errorOf(again.response).details, { reason: 'already_handshaken' })
  t.equal((await ask(c, 'jsonl', 'PING')).mode, 'binary')
})

t.test('a wrong protocol version is UNSUPPORTED_PROTOCOL and the session stays in AWAIT_HELLO', async t => {
  const c = await rawClientFor(t, server, { hello: false })
  const wrong = await ask(c, 'binary', 'HELLO', { protocol_version: 2 })
  const error = errorOf(wrong.response)
  t.equal(error.code, 'UNSUPPORTED_PROTOCOL')
  t.equal(error.retryable, false)
  t.same(error.details, { requested: 2, supported: [1] })
  t.equal(errorOf((await ask(c, 'binary', 'PING')).response).details.reason, 'handshake_required')
  const bad = await ask(c, 'binary', 'HELLO', { protocol_version: '1' })
  t.equal(errorOf(bad.response).code, 'BAD_REQUEST')
  t.equal(errorOf(bad.response).details.field, 'protocol_version')
  const missing = await ask(c, 'binary', 'HELLO', {})
  t.equal(errorOf(missing.response).details.field, 'protocol_version')
  t.equal(resultOf((await ask(c, 'binary', 'HELLO', { protocol_version: 1 })).response).wire_mode, 'binary_json')
})

t.test('wire-mode matrix of §2.3', async t => {
  const cases: Array<{ hello: WireMode, modes: string[] | undefined, expect: WireMode }> = [
    { hello: 'binary', modes: undefined, expect: 'binary' },
    { hello: 'binary', modes: [], expect: 'binary' },
    { hello: 'binary', modes: ['jsonl'], expect: 'jsonl' },
    { hello: 'binary', modes: ['binary_json'], expect: 'binary' },
    { hello: 'binary', modes: ['jsonl', 'binary_json'], expect: 'binary' },
    { hello: 'binary', modes: ['x'], expect: 'binary' },
    { hello: 'binary', modes: ['x', 'jsonl'], expect: 'jsonl' },
    { hello: 'jsonl', modes: ['binary_json'], expect: 'jsonl' },
    { hello: 'jsonl', modes: [], expect: 'jsonl' },
    { hello: 'jsonl', modes: ['jsonl', 'binary_json'], expect: 'jsonl' },
  ]
  for (const k of cases) {
    const c = await rawClientFor(t, server, { hello: false })
    const params = { protocol_version: 1, ...(k.modes === undefined ? {} : { wire_modes: k.modes }) }
    const hello = await ask(c, k.hello, 'HELLO', params)
    const name = `${k.hello} HELLO with ${JSON.stringify(k.modes)}`
    t.equal(hello.mode, k.expect, `${name}: HELLO response framing`)
    t.equal(resultOf(hello.response).wire_mode, k.expect === 'binary' ? 'binary_json' : 'jsonl', `${name}: wire_mode`)
    for (const mode of ['binary', 'jsonl'] as const) {
      const ping = await ask(c, mode, 'PING')
      t.equal(ping.mode, k.expect, `${name}: later ${mode} request answered in the chosen mode`)
    }
    c.close()
  }
})

t.test('pure JSONL connections, with whitespace between messages', async t => {
  const raw = await rawConnect(server.rcpPort)
  t.teardown(() => raw.socket.destroy())
  raw.socket.write('\r\n \t{"id":"h","op":"HELLO","params":{"protocol_version":1,"features":["batch","nope","idempotency"]}}\r\n\n\n   \n')
  raw.socket.write('{"type":"request","id":"p","op":"PING"}\n')
  for (let i = 0; i < 100 && raw.received().toString().split('\n').length < 3; i++) await sleep(20)
  const lines = raw.received().toString('utf8').split('\n')
  t.equal(lines.length, 3, 'two lines and the trailing empty part')
  const hello = JSON.parse(lines[0])
  t.equal(hello.result.wire_mode, 'jsonl')
  t.same(hello.result.features, ['idempotency', 'batch'], 'intersection in server order')
  t.equal(hello.result.server_name, 'rstmdb')
  t.equal(hello.result.server_version, '0.1.0')
  t.same(JSON.parse(lines[1]).result, { pong: true })
})

t.test('a byte that starts neither a frame nor a line closes the connection, writing nothing', async t => {
  const raw = await rawConnect(server.rcpPort)
  raw.socket.write('GET / HTTP/1.1\r\n\r\n')
  t.ok(await within(raw.closed, 5000), 'closed')
  t.equal(raw.received().length, 0)
})
