import t from 'tap'
import { openBrowser } from '../support/browser.js'
import { freePort } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'
import { call, startGateway, stopGateway } from '../http/helpers.js'

// The browser's own EventSource (Chromium) on GET /v1/events (history.md §6): it receives every
// event through onmessage, and after a shutdown it reconnects by itself with Last-Event-ID and
// resumes exactly where the end notice said, without a gap or a duplicate.

const LOOP = { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'TICK', to: 'a' }] }

t.test('EventSource: events via onmessage, lifecycle kinds, and a resume across a server restart', async t => {
  const dataDir = tempDir(t)
  const port = await freePort()
  const env = { RSTMDB_HTTP_BIND: `127.0.0.1:${port}` }
  let server = await startGateway({ dataDir, env })
  t.teardown(async () => await stopGateway(server))
  const base = server.base
  await call(base, 'PUT', '/v1/machines/loop/versions/1', { json: LOOP })

  // the page is served by the gateway itself: the stream is same-origin, as for the console
  const browser = await openBrowser(t, { allow: [/\/v1\/events/, /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/] })
  const page = await browser.newPage()
  await page.goto(`${base}/healthz`)
  await page.evaluate(`(() => {
    window.received = []
    window.ends = []
    const source = new EventSource('/v1/events?machines=loop&lifecycle=true&include_ctx=false')
    source.onmessage = (e) => window.received.push({ id: e.lastEventId, data: JSON.parse(e.data) })
    source.addEventListener('subscription_end', (e) => window.ends.push({ id: e.lastEventId, data: JSON.parse(e.data) }))
    return new Promise((resolve) => { source.onopen = () => resolve(true) })
  })()`)

  const offsets: number[] = []
  offsets.push((await call(base, 'POST', '/v1/instances', { json: { machine: 'loop', version: 1, instance_id: 'e-1' } })).body.wal_offset)
  for (let i = 0; i < 3; i++) offsets.push((await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'TICK', payload: { i } } })).body.wal_offset)
  await page.waitForFunction(`window.received.length >= ${offsets.length}`, undefined, { timeout: 20_000 })
  const first: any[] = await page.evaluate('window.received')
  t.same(first.map(m => Number(m.id)), offsets, 'lastEventId is each event\'s wal_offset')
  t.same(first.map(m => m.data.wal_offset), offsets)
  t.equal(first[0].data.kind, 'created', 'a creation, told apart by its kind')
  t.same(first.slice(1).map(m => [m.data.kind, m.data.event]), [[undefined, 'TICK'], [undefined, 'TICK'], [undefined, 'TICK']])

  // shutdown: the end notice, then the stream closes; the browser keeps reconnecting to the same URL
  await server.stop('SIGTERM')
  await page.waitForFunction('window.ends.length >= 1', undefined, { timeout: 20_000 })
  const [end]: any[] = await page.evaluate('window.ends')
  t.match(end.data, { type: 'subscription_end', reason: 'shutdown', resume_from_offset: offsets[offsets.length - 1] + 1 })
  t.equal(Number(end.id), end.data.resume_from_offset - 1, 'the notice\'s id is where a reconnect resumes')

  server = await startGateway({ dataDir, env })
  // written before the browser is back: it must get them through Last-Event-ID, once each
  const later: number[] = []
  for (let i = 0; i < 3; i++) later.push((await call(base, 'POST', '/v1/instances/e-1/events', { json: { event: 'TICK', payload: { later: i } } })).body.wal_offset)
  later.push((await call(base, 'DELETE', '/v1/instances/e-1')).body.wal_offset)
  await page.waitForFunction(`window.received.length >= ${offsets.length + later.length}`, undefined, { timeout: 30_000 })
  const all: any[] = await page.evaluate('window.received')
  t.same(all.map(m => m.data.wal_offset), [...offsets, ...later], 'resumed after the restart: nothing missed, nothing twice')
  t.equal(all[all.length - 1].data.kind, 'deleted')
  await browser.finish()
})
