import t from 'tap'
import { openBrowser } from '../support/browser.js'
import { freePort } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'
import { call, seed, startConsole, type Gateway } from './helpers.js'

/** The same data directory and ports, so the page finds "its" server again. */
const dataDir = tempDir(t)
const ports = { RSTMDB_BIND: `127.0.0.1:${await freePort()}`, RSTMDB_HTTP_BIND: `127.0.0.1:${await freePort()}` }
let server: Gateway = await startConsole({ dataDir, env: ports })
t.teardown(async () => { await server.stop() })
await seed(server.base, 'shop', 'steady')

t.test('a server that goes away: the page says reconnecting, then catches up from the last offset it saw', async t => {
  // while the server is down or recovering, requests fail or answer 503: that is the situation under test
  const browser = await openBrowser(t, { allow: [/WebSocket connection to .* failed/, /net::ERR_/, /\b503\b/] })
  const page = await browser.newPage()
  await page.goto(`${server.base}/instances/steady`)
  await page.locator('.live-live').waitFor()
  const events = await browser.newPage()
  await events.goto(`${server.base}/events`)
  await events.locator('.live-live').waitFor()
  await call(server.base, 'POST', '/v1/instances/steady/events', { json: { event: 'PAY' } })
  await events.locator('.event-list li').first().waitFor()
  await page.evaluate('window.__samePage = true')

  await server.stop()
  await page.locator('.live-reconnecting').waitFor()
  await events.locator('.live-reconnecting').waitFor()

  server = await startConsole({ dataDir, env: ports })
  // written before either page is back: they must replay it, not only see what comes after
  await call(server.base, 'POST', '/v1/instances/steady/events', { json: { event: 'SHIP' } })
  await page.locator('[data-testid="state"]', { hasText: 'shipped' }).waitFor()
  await page.locator('.live-live').waitFor()
  t.equal(await page.evaluate('window.__samePage'), true, 'caught up without a reload')
  await events.locator('.event-list li', { hasText: 'SHIP' }).waitFor()
  t.same(await events.locator('.event-list li').evaluateAll((els) => els.map((el) => el.getAttribute('data-offset'))),
    [String((await call(server.base, 'GET', '/v1/instances/steady')).body.last_wal_offset), String((await call(server.base, 'GET', '/v1/instances/steady')).body.last_wal_offset - 1)],
    'the stream resumed gaplessly: SHIP after PAY, nothing twice')
  await browser.finish()
})
