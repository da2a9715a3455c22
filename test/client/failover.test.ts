import t from 'tap'
import { Client, hashToken } from 'rstmdb'
import { clientFor, collect } from '../support/client.js'
import { startProxy } from '../support/proxy.js'
import { freePort, startServer } from '../support/server.js'

// `servers`: connect tries them in order; a drop moves on to the next one (README "SDK").

const LOOP = { states: ['a', 'b'], initial: 'a', transitions: [{ from: 'a', event: 'TICK', to: 'b' }, { from: 'b', event: 'TICK', to: 'a' }] }

const server = await startServer(t)
const writer = await clientFor(t, server)
await writer.putMachine({ machine: 'loop', version: 1, definition: LOOP })
await writer.createInstance({ machine: 'loop', version: 1, instance_id: 'f' })

async function ticks (n: number): Promise<number[]> {
  const offsets: number[] = []
  for (let i = 0; i < n; i++) offsets.push((await writer.applyEvent({ instance_id: 'f', event: 'TICK' })).wal_offset)
  return offsets
}

t.test('connect fails over from an address nobody listens on to the next', async t => {
  const dead = `127.0.0.1:${await freePort()}`
  const c = await clientFor(t, { address: dead }, { servers: [dead, server.address] })
  t.equal(c.server, server.address)
  t.same(await c.ping(), { pong: true })
  const nowhere = `127.0.0.1:${await freePort()}`
  await t.rejects(Client.connect({ servers: [dead, nowhere] }), { code: 'CONNECTION_FAILED', message: `connect ECONNREFUSED ${nowhere}` }, 'the last failure when none answers')
})

t.test('a drop moves to the next server in the list, and the watch resumes there', async t => {
  // two addresses of one server, so the watch resumes on the same WAL
  const first = await startProxy(t, server.rcpPort)
  const second = await startProxy(t, server.rcpPort)
  const c = await clientFor(t, first, { servers: [first.address, second.address] })
  const events = collect(c.watchInstance({ instance_id: 'f', include_ctx: false }))
  await c.ping()
  const before = await ticks(10)
  await events.until(e => e.wal_offset === before[before.length - 1])
  await first.close()
  const after = await ticks(10)
  await events.until(e => e.wal_offset === after[after.length - 1])
  t.same(events.events.map(e => e.wal_offset), [...before, ...after], 'every event once, in order')
  t.equal(c.server, second.address)
  t.equal(second.accepted, 1)
})

t.test('a refused token is not tried on the other servers', async t => {
  const secured = await startServer(t, { env: { RSTMDB_AUTH_REQUIRED: 'true', RSTMDB_AUTH_TOKEN_HASH: hashToken('right') } })
  const first = await startProxy(t, secured.rcpPort)
  const second = await startProxy(t, secured.rcpPort)
  await t.rejects(Client.connect({ servers: [first.address, second.address], token: 'wrong' }), { name: 'RcpError', code: 'AUTH_FAILED' })
  t.equal(first.accepted, 1)
  t.equal(second.accepted, 0)
})
