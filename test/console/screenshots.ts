import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { DESKTOP, openBrowser, PHONE, type Viewport } from '../support/browser.js'
import { call, diagramLoaded, seed, startConsole, stopGateway } from './helpers.js'

/**
 * `npm run screenshots`: every console page at 1280×800 and at 390 px wide, into
 * docs/screenshots/ against a real server with a little data in it. The folder is
 * gitignored except the two the README shows, so running this keeps them current.
 */

const OUT = path.resolve('docs/screenshots')
mkdirSync(OUT, { recursive: true })
const server = await startConsole()
const { base } = server
await seed(base, 'order', 'order-001')
await seed(base, 'order', 'order-002', { amount: 0 })
for (let i = 3; i <= 12; i++) await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: `order-${String(i).padStart(3, '0')}`, initial_ctx: { amount: i } } })
// a history worth travelling through: paid, sent back with a note, paid again
await call(base, 'POST', '/v1/instances/order-001/events', { json: { event: 'PAY', payload: { paid_by: 'card' } } })
await call(base, 'POST', '/v1/instances/order-001/events', { json: { event: 'NOTE', payload: { note: 'card declined, asked for another' } } })
const repaid = await call(base, 'POST', '/v1/instances/order-001/events', { json: { event: 'PAY', payload: { paid_by: 'transfer' } } })
const firstPaid = (repaid.body.wal_offset as number) - 2
await call(base, 'PUT', '/v1/machines/ticket/versions/1', {
  json: {
    states: ['open', 'triaged', 'in_progress', 'blocked', 'resolved', 'closed'],
    initial: 'open',
    transitions: [
      { from: 'open', event: 'TRIAGE', to: 'triaged' }, { from: 'triaged', event: 'START', to: 'in_progress', guard: 'ctx.assignee != null' },
      { from: 'in_progress', event: 'BLOCK', to: 'blocked' }, { from: 'blocked', event: 'UNBLOCK', to: 'in_progress' },
      { from: ['in_progress', 'triaged'], event: 'RESOLVE', to: 'resolved' }, { from: 'resolved', event: 'REOPEN', to: 'open' }, { from: 'resolved', event: 'CLOSE', to: 'closed' }]
  }
})

/** each pass of the events page moves instances of its own */
let round = 0
const shots: Array<{ name: string, path: string, ready?: (page: import('playwright-core').Page) => Promise<unknown> }> = [
  { name: 'machines', path: '/machines' },
  { name: 'machine-version', path: '/machines/order/versions/1', ready: diagramLoaded },
  { name: 'new-version', path: '/machines/order/versions/new', ready: async (p) => await p.locator('.validation[data-state="valid"]').waitFor() },
  {
    name: 'new-machine-invalid',
    path: '/machines?new',
    ready: async (p) => {
      await p.locator('#definition').fill(JSON.stringify({ states: ['a', 'b'], initial: 'c', transitions: [{ from: 'a', event: 'GO', to: 'b', guard: 'ctx.x >> 1' }] }, null, 2))
      await p.locator('.validation[data-state="invalid"]').waitFor()
    }
  },
  { name: 'instances', path: '/instances?machine=order', ready: async (p) => await p.locator('.live-live').waitFor() },
  {
    name: 'instance',
    path: '/instances/order-001',
    ready: async (p) => {
      await diagramLoaded(p)
      await p.locator('.live-live').waitFor()
      await p.locator('.timeline li').nth(3).waitFor()
      await p.locator('button[data-event="SHIP"]').click()
      await p.getByRole('button', { name: 'Preview (dry run)' }).click()
      await p.locator('[data-testid="preview"]').waitFor()
    }
  },
  { name: 'instance-as-of', path: `/instances/order-001?at=${firstPaid}`, ready: async (p) => { await diagramLoaded(p); await p.locator('.timeline li.selected').waitFor() } },
  { name: 'instance-guard-fails', path: '/instances/order-002', ready: async (p) => { await diagramLoaded(p); await p.locator('button[data-guard="false"]').waitFor() } },
  {
    name: 'events',
    path: '/events',
    ready: async (p) => {
      await p.locator('.live-live').waitFor()
      const [a, b] = [`order-${String(3 + 2 * round).padStart(3, '0')}`, `order-${String(4 + 2 * round++).padStart(3, '0')}`]
      await call(base, 'POST', `/v1/instances/${a}/events`, { json: { event: 'PAY', payload: { amount: 3 } } })
      await call(base, 'POST', `/v1/instances/${a}/events`, { json: { event: 'SHIP' } })
      await call(base, 'POST', `/v1/instances/${b}/events`, { json: { event: 'CANCEL' } })
      await call(base, 'POST', '/v1/instances', { json: { machine: 'ticket', version: 1, instance_id: `ticket-${round}` } })
      await call(base, 'DELETE', `/v1/instances/ticket-${round}`)
      await p.locator('.event-list li').nth(4).waitFor()
    }
  },
  { name: 'server', path: '/server', ready: async (p) => await p.locator('.facts').nth(2).waitFor() },
  { name: 'not-found', path: '/machines/order/versions/1/nowhere' },
]

const session = { name: 'screenshots', teardown: () => {}, same: () => true }
try {
  for (const [label, viewport] of [['desktop', DESKTOP], ['phone', PHONE]] as Array<[string, Viewport]>) {
    const browser = await openBrowser(session, { viewport })
    for (const shot of shots) {
      const page = await browser.newPage()
      await page.goto(base + shot.path)
      await page.locator('main h1').first().waitFor()
      await shot.ready?.(page)
      await page.waitForTimeout(300)
      const file = path.join(OUT, `${shot.name}-${label}.png`)
      await page.screenshot({ path: file, fullPage: true })
      console.log(file)
      await page.close()
    }
    if (browser.problems.length > 0) console.error(browser.problems.join('\n'))
    await browser.context.close()
  }
} finally {
  await stopGateway(server)
}
