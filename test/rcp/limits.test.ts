import t from 'tap'
import { readFileSync } from 'node:fs'
import { clientFor } from '../support/client.js'
import { rawClientFor, rawConnect, rawFrame } from '../support/raw-client.js'
import { startServer } from '../support/server.js'
import { errorOf, resultOf, sleep, within } from './helpers.js'

const MIB16 = 16 * 1024 * 1024

/** resident memory of a process in MB, from /proc */
function rssMb (pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith('VmRSS:')) ?? 'VmRSS: 0 kB'
  return Number(line.replace(/\D+/g, '')) / 1024
}

/** a PING request padded with an unknown envelope field to exactly `size` bytes of JSON */
function paddedPing (id: string, size: number): string {
  const bare = JSON.stringify({ id, op: 'PING', pad: '' })
  return JSON.stringify({ id, op: 'PING', pad: 'p'.repeat(size - bare.length) })
}

t.test('max_connections: above the limit a socket is closed at once, nothing written', async t => {
  const server = await startServer(t, { env: { RSTMDB_MAX_CONNECTIONS: '2' } })
  const a = await rawClientFor(t, server)
  const b = await rawClientFor(t, server)
  const third = await rawConnect(server.rcpPort)
  third.socket.write(rawFrame(JSON.stringify({ id: 'h', op: 'HELLO', params: { protocol_version: 1 } })))
  t.ok(await within(third.closed, 5000), 'third connection closed')
  t.equal(third.received().length, 0, 'nothing written')
  t.same(resultOf(await a.request('PING')), { pong: true }, 'the others are unaffected')
  b.close()
  await b.closed
  // the server sees the close a moment later: retry a few times
  let answered = false
  for (let i = 0; i < 20 && !answered; i++) {
    const again = await rawConnect(server.rcpPort)
    again.socket.write(rawFrame(JSON.stringify({ id: 'h', op: 'HELLO', params: { protocol_version: 1 } })))
    await within(again.closed, 250)
    answered = again.received().length > 0
    again.socket.destroy()
  }
  t.ok(answered, 'a slot freed by a close can be used again')
})

t.test('idle timeout closes an idle connection but not a subscribed one', async t => {
  const server = await startServer(t, { env: { RSTMDB_IDLE_TIMEOUT: '2' } })
  const idle = await rawClientFor(t, server)
  const silent = await rawConnect(server.rcpPort)
  const subscribed = await rawClientFor(t, server)
  await subscribed.request('WATCH_ALL', {})
  const busy = await rawClientFor(t, server)
  // 100 ms between requests against a 2 s timeout: a margin no stall of a loaded machine eats up
  const pinging = (async () => {
    for (let i = 0; i < 40; i++) {
      await busy.request('PING')
      await sleep(100)
    }
  })()
  t.ok(await within(idle.closed, 10_000), 'idle connection closed')
  t.ok(await within(silent.closed, 10_000), 'a connection that never sent anything is closed')
  await pinging
  t.same(resultOf(await subscribed.request('PING')), { pong: true }, 'the subscribed connection is still open after 4 s')
  t.same(resultOf(await busy.request('PING')), { pong: true }, 'a connection sending every 100 ms is still open')
})

t.test('message size: 16 MiB is accepted, one byte more closes; id length', async t => {
  const server = await startServer(t)
  const c = await rawClientFor(t, server)
  const exact = paddedPing('big-frame', MIB16)
  t.equal(Buffer.byteLength(exact), MIB16)
  const frameReply = c.waitFor(m => m.id === 'big-frame', 30_000)
  c.raw(rawFrame(exact))
  t.same(resultOf(await frameReply), { pong: true }, '16 MiB frame payload')

  const line = paddedPing('big-line', MIB16)
  const lineReply = c.waitFor(m => m.id === 'big-line', 30_000)
  c.raw(line + '\r\n')
  t.same(resultOf(await lineReply), { pong: true }, '16 MiB JSONL line (without \\r\\n)')

  const longId = 'é'.repeat(129)
  const idReply = c.waitFor(m => m.type === 'response' && m.id === '' && m.error?.details?.field === 'id')
  c.send({ id: longId, op: 'PING' })
  t.equal(errorOf(await idReply).code, 'BAD_REQUEST', '258-byte id → id ""')

  const f = await rawClientFor(t, server)
  f.raw(rawFrame(paddedPing('too-big', MIB16 + 1)))
  t.ok(await within(f.closed, 10_000), 'a 16 MiB + 1 frame closes')
  const l = await rawClientFor(t, server)
  l.raw(paddedPing('too-long', MIB16 + 1) + '\n')
  t.ok(await within(l.closed, 10_000), 'a 16 MiB + 1 line closes')
  t.same(resultOf(await c.request('PING')), { pong: true })
})

t.test('a client that never reads does not grow server memory: reading pauses', async t => {
  const server = await startServer(t, { env: { RSTMDB_FSYNC_POLICY: 'never' } })
  const w = await clientFor(t, server)
  await w.putMachine({ machine: 'm', version: 1, definition: { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'E', to: 'a' }] } })
  await w.batch({ ops: Array.from({ length: 100 }, (_, i) => ({ op: 'CREATE_INSTANCE', params: { machine: 'm', version: 1, instance_id: `i-${i}`, initial_ctx: { pad: 'x'.repeat(2000) } } })) })
  const pid = server.child.pid as number
  const before = rssMb(pid)
  const hog = await rawClientFor(t, server)
  hog.socket.pause()
  // each answer is ~250 KB; 4,000 of them would be ~1 GB if the server kept reading
  const request = Buffer.from(JSON.stringify({ id: 'r', op: 'WAL_READ', params: { from_offset: 1, limit: 1000 } }) + '\n')
  const burst = Buffer.concat(Array.from({ length: 100 }, () => request))
  let written = 0
  for (let i = 0; i < 40; i++) {
    if (!hog.socket.write(burst)) await within(new Promise(resolve => hog.socket.once('drain', resolve)), 200)
    written++
  }
  await sleep(1000)
  const after = rssMb(pid)
  t.ok(after < 300, `server RSS ${before.toFixed(0)} MB → ${after.toFixed(0)} MB while ${written * 100} big answers are owed`)
  t.same(await w.ping(), { pong: true }, 'other connections are served meanwhile')
  hog.close()
})
