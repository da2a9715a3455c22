import t from 'tap'
import type { Client } from 'rstmdb'
import { clientFor, collect } from '../support/client.js'
import { ok, startFakeServer } from '../support/fake-server.js'
import { startProxy } from '../support/proxy.js'
import { freePort, startServer, type RunningServer } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'

// After a drop the client connects again (HELLO, AUTH) and every watch resumes one past the
// last event it took in: the consumer sees each event once, in order, across the drops.

const LOOP = { states: ['a', 'b'], initial: 'a', transitions: [{ from: 'a', event: 'TICK', to: 'b' }, { from: 'b', event: 'TICK', to: 'a' }] }

let keys = 0

/** n TICKs, `depth` in flight, retrying the ones a drop failed (with an idempotency key, so none is applied twice) */
async function tick (c: Client, instanceId: string, n: number, depth = 4): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: depth }, async () => {
    while (next < n) {
      next++
      const key = `tick-${keys++}`
      for (let attempt = 0; ; attempt++) {
        try {
          await c.applyEvent({ instance_id: instanceId, event: 'TICK', idempotency_key: key })
          break
        } catch (err) {
          if ((err as { retryable?: boolean }).retryable !== true || attempt === 50) throw err
        }
      }
    }
  }))
}

/** offsets of every apply_event record of the WAL */
async function applied (c: Client): Promise<number[]> {
  const out: number[] = []
  let cursor: number | null = 1
  for (let page = 0; cursor !== null && page < 100; page++) {
    const r = await c.walRead({ from_offset: cursor, limit: 1000 })
    for (const rec of r.records) if (rec.entry.type === 'apply_event') out.push(rec.sequence)
    cursor = r.next_offset
  }
  return out
}

async function setup (c: Client, ids: string[]): Promise<void> {
  await c.putMachine({ machine: 'loop', version: 1, definition: LOOP })
  for (const id of ids) await c.createInstance({ machine: 'loop', version: 1, instance_id: id })
}

t.test('a server killed and restarted on the same port and data dir, then stopped with a shutdown notice: no gap, no duplicate', async t => {
  const port = await freePort()
  const dataDir = tempDir(t, 'rstmdb-data-')
  const start = async (): Promise<RunningServer> => await startServer(t, { dataDir, env: { RSTMDB_BIND: `127.0.0.1:${port}` } })
  let server = await start()
  const options = { reconnect: { attempts: 40, delayMs: 50, maxDelayMs: 250 } }
  const writer = await clientFor(t, server, options)
  await setup(writer, ['k'])
  const watcher = await clientFor(t, server, options)
  const events = collect(watcher.watchAll({ machines: ['loop'], include_ctx: false }))
  await watcher.ping()

  await tick(writer, 'k', 50)
  await server.stop('SIGKILL')
  server = await start()
  await tick(writer, 'k', 50)
  // SIGTERM: a shutdown notice, then the close; the watch resumes from the notice's offset
  await server.stop('SIGTERM')
  server = await start()
  await tick(writer, 'k', 50)

  const all = await applied(writer)
  t.equal(all.length, 150)
  await events.until(e => e.wal_offset === all[all.length - 1])
  t.same(events.events.map(e => e.wal_offset), all, 'every event once, in order')
  t.equal(watcher.server, `127.0.0.1:${port}`)
})

t.test('connections cut again and again under concurrent writes: every event once, in order', async t => {
  const server = await startServer(t, { env: { RSTMDB_FSYNC_POLICY: 'never' } })
  const writer = await clientFor(t, server)
  await setup(writer, ['x', 'y'])
  const proxy = await startProxy(t, server.rcpPort)
  const watcher = await clientFor(t, proxy, { reconnect: { attempts: 20, delayMs: 10 } })
  const all = collect(watcher.watchAll({ include_ctx: false }))
  const onlyY = collect(watcher.watchInstance({ instance_id: 'y', include_ctx: false }))
  await watcher.ping()

  const writing = Promise.all([tick(writer, 'x', 400), tick(writer, 'y', 400)])
  let cuts = 0
  for (let i = 0; i < 5; i++) {
    const seen = all.events.length
    const connections = proxy.accepted
    proxy.cut()
    cuts++
    // the next cut once the watch has reconnected and taken in more events through the new connection
    await all.until(() => proxy.accepted > connections && all.events.length > seen + 20)
  }
  await writing
  const wal = await applied(writer)
  await all.until(e => e.wal_offset === wal[wal.length - 1])
  t.same(all.events.map(e => e.wal_offset), wal, 'watchAll: every event once, in order')
  const ys = (await writer.walRead({ from_offset: 1, limit: 1000 })).records
    .filter(r => r.entry.type === 'apply_event' && (r.entry as Record<string, unknown>).instance_id === 'y').map(r => r.sequence)
  await onlyY.until(e => e.wal_offset === ys[ys.length - 1])
  t.same(onlyY.events.map(e => e.wal_offset), ys, 'watchInstance: the same')
  t.equal(cuts, 5)
  t.ok(proxy.accepted >= 6, `${proxy.accepted} connections through the proxy`)
})

t.test('a request in flight at a drop rejects with a retryable CONNECTION_FAILED and is never sent again', async t => {
  const seen: string[] = []
  const address = await startFakeServer(t, req => {
    seen.push(req.op as string)
    if (req.op === 'HELLO') return [ok(req, { protocol_version: 1, wire_mode: 'binary_json' })]
    if (req.op === 'APPLY_EVENT') return 'close'
    return [ok(req, { pong: true })]
  })
  const c = await clientFor(t, { address })
  const err = await c.applyEvent({ instance_id: 'i', event: 'E' }).catch((e: unknown) => e)
  t.match(err, { name: 'ClientError', code: 'CONNECTION_FAILED', retryable: true })
  t.same(await c.ping(), { pong: true }, 'the next request reconnects')
  t.same(seen, ['HELLO', 'APPLY_EVENT', 'HELLO', 'PING'], 'the write was sent once')
})

t.test('reconnecting gives up after its attempts: the watch fails; a later request tries again', async t => {
  const port = await freePort()
  const dataDir = tempDir(t, 'rstmdb-data-')
  const server = await startServer(t, { dataDir, env: { RSTMDB_BIND: `127.0.0.1:${port}` } })
  const c = await clientFor(t, server, { reconnect: { attempts: 2, delayMs: 10 } })
  const watch = c.watchAll()
  await watch.subscribed
  await server.stop('SIGKILL')
  await t.rejects(watch.next(), { name: 'ClientError', code: 'CONNECTION_FAILED', retryable: true, message: `connect ECONNREFUSED 127.0.0.1:${port}` })
  await startServer(t, { dataDir, env: { RSTMDB_BIND: `127.0.0.1:${port}` } })
  t.same(await c.ping(), { pong: true })
})

t.test('reconnect: false — a drop fails the watch and later requests, until connect() is called', async t => {
  const port = await freePort()
  const dataDir = tempDir(t, 'rstmdb-data-')
  const server = await startServer(t, { dataDir, env: { RSTMDB_BIND: `127.0.0.1:${port}` } })
  const c = await clientFor(t, server, { reconnect: false })
  const watch = c.watchAll()
  await watch.subscribed
  await server.stop('SIGKILL')
  await t.rejects(watch.next(), { code: 'CONNECTION_FAILED', message: 'connection closed by server' })
  await startServer(t, { dataDir, env: { RSTMDB_BIND: `127.0.0.1:${port}` } })
  await t.rejects(c.ping(), { code: 'CONNECTION_FAILED', message: 'not connected' })
  await c.connect()
  t.same(await c.ping(), { pong: true })
})
