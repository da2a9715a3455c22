import t from 'tap'
import type { Page } from 'playwright-core'
import { openBrowser } from '../support/browser.js'
import { call, diagramLoaded, seed, startConsole, stopGateway } from './helpers.js'

/**
 * The instance page on the history extensions (console.md §2, history.md §2–6a):
 * the timeline, time travel with at_offset, transitions with their guards, the
 * dry-run preview that writes nothing, and the history growing live.
 */

const server = await startConsole()
t.teardown(() => stopGateway(server))
const { base } = server

/** The committed WAL head, as INFO tells it. */
async function walHead (): Promise<number> {
  return (await call(base, 'GET', '/v1/info')).body.wal_offset as number
}

async function apply (id: string, event: string, payload?: Record<string, unknown>): Promise<number> {
  const res = await call(base, 'POST', `/v1/instances/${encodeURIComponent(id)}/events`, { json: { event, ...(payload === undefined ? {} : { payload }) } })
  if (res.status !== 200) throw new Error(res.text)
  return res.body.wal_offset as number
}

const offsets = (page: Page): Promise<number[]> =>
  page.locator('.timeline li').evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-offset'))))
const ctxText = async (page: Page): Promise<string> => await page.locator('[data-testid="ctx"] .json-tree').textContent() ?? ''

await seed(base, 'order', 'trip', { amount: 10 })
const paidAt = await apply('trip', 'PAY', { paid_by: 'card' })
const notedAt = await apply('trip', 'NOTE', { note: 'declined' })
const createdAt = (await call(base, 'GET', '/v1/instances/trip/history')).body.items[0].wal_offset as number

t.test('the history timeline, newest first, and time travel to an older offset and back', async t => {
  const browser = await openBrowser(t)
  const page = await browser.newPage()
  await page.goto(`${base}/instances/trip`)
  await page.locator('.timeline li').nth(2).waitFor()
  t.same(await offsets(page), [notedAt, paidAt, createdAt], 'every entry, newest first')
  const [noted, paid, created] = await page.locator('.timeline li .t-head').allTextContents()
  t.match(noted, /NOTE\s*paid → pending/, 'an event with its state change')
  t.match(paid, /PAY\s*pending → paid/)
  t.match(created, /create instance\s*pending/)
  await page.locator(`.timeline li[data-offset="${paidAt}"] summary`, { hasText: 'payload' }).click()
  t.match(await page.locator(`.timeline li[data-offset="${paidAt}"] .json-tree`).textContent(), /paid_by.*"card"/, 'the payload of the entry')
  t.match(await ctxText(page), /note.*"declined"/, 'now: the latest ctx')

  await page.getByRole('link', { name: `view as of #${paidAt}` }).click()
  await page.waitForURL(`**/instances/trip?at=${paidAt}`)
  await page.locator('[data-testid="state"]', { hasText: 'paid' }).waitFor()
  t.equal(await page.locator('[data-testid="offset"]').textContent(), String(paidAt), 'the offset of that moment')
  t.match(await page.getByRole('status').filter({ hasText: 'Viewing the instance' }).textContent(), `right after offset ${paidAt}`)
  t.match(await ctxText(page), /paid_by.*"card"/, 'the ctx as it was then')
  t.notMatch(await ctxText(page), /declined/, 'without what came later')
  t.match((await diagramLoaded(page)).alt, /paid highlighted/, 'the state of then lit on the diagram')
  t.equal(await page.locator('.timeline li.selected').getAttribute('data-offset'), String(paidAt), 'the entry marked in the timeline')
  t.equal(await page.locator('.timeline li.later').count(), 1, 'the later entry set apart')
  t.ok(await page.locator('.transition-buttons button').first().isDisabled(), 'no applying while looking at the past')

  // any offset, typed: right after the creation
  await page.getByLabel('As of offset').fill(String(createdAt))
  await page.getByRole('button', { name: 'Go' }).click()
  await page.waitForURL(`**/instances/trip?at=${createdAt}`)
  await page.locator('[data-testid="state"]', { hasText: 'pending' }).waitFor()
  t.notMatch(await ctxText(page), /paid_by/, 'the initial ctx')

  await page.goBack()
  await page.waitForURL(`**/instances/trip?at=${paidAt}`)
  await page.locator('[data-testid="state"]', { hasText: 'paid' }).waitFor()
  await page.getByRole('link', { name: 'Back to now' }).click()
  await page.waitForURL(/\/instances\/trip$/)
  await page.locator('[data-testid="state"]', { hasText: 'pending' }).waitFor()
  t.match(await ctxText(page), /declined/, 'back to the latest ctx')
  t.equal(await page.locator('.banner').count(), 0)
  await browser.finish()
})

t.test('an offset before the instance existed or above the head shows the server\'s problem', async t => {
  const browser = await openBrowser(t)
  const page = await browser.newPage()
  await page.goto(`${base}/instances/trip?at=${createdAt - 1}`)
  const before = page.locator('.problem').first()
  await before.waitFor()
  t.match(await before.textContent(), /INSTANCE_NOT_FOUND/, 'it did not exist yet')
  t.match(await before.textContent(), /HTTP 404/)
  await page.locator('.timeline li').nth(2).waitFor()

  await page.goto(`${base}/instances/trip?at=${(await walHead()) + 1000}`)
  const above = page.locator('.problem').first()
  await above.waitFor()
  t.match(await above.textContent(), /BAD_REQUEST/, 'the future is not served')
  t.equal(await page.locator('[data-testid="state"]').count(), 0, 'no state shown for an offset that has none')
  await browser.finish()
})

t.test('the transitions with their guards: a failing guard is marked, as GET_TRANSITIONS says', async t => {
  await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: 'broke', initial_ctx: { amount: 0 } } })
  const served = (await call(base, 'GET', '/v1/instances/broke/transitions')).body.transitions as Array<{ event: string, guard_passes: boolean | null }>
  const browser = await openBrowser(t)
  const page = await browser.newPage()
  await page.goto(`${base}/instances/broke`)
  await page.locator('button[data-event="PAY"][data-guard="false"]').waitFor()
  t.same(await page.locator('.transition-buttons button').evaluateAll((els) => els.map((el) => [el.getAttribute('data-event'), el.getAttribute('data-guard')])),
    served.map((s) => [s.event, s.guard_passes === null ? null : String(s.guard_passes)]), 'the buttons are the served transitions, guards evaluated')
  t.match(await page.locator('button[data-event="PAY"]').textContent(), /guard fails/)
  t.notMatch(await page.locator('button[data-event="CANCEL"]').textContent(), /guard/, 'no guard, no mark')
  await page.locator('button[data-event="PAY"]').click()
  t.match(await page.locator('.apply').textContent(), /Guard ctx\.amount > 0 fails on the current ctx/)

  await page.goto(`${base}/instances/trip`)
  await page.locator('[data-testid="state"]', { hasText: 'pending' }).waitFor()
  await page.locator('button[data-event="PAY"][data-guard="true"]').waitFor()
  t.match(await page.locator('button[data-event="PAY"]').textContent(), /guard passes/)
  await browser.finish()
})

t.test('a dry run shows the outcome and writes nothing; a refused one shows the problem', async t => {
  await seed(base, 'order', 'dry', { amount: 3 })
  const browser = await openBrowser(t)
  const page = await browser.newPage()
  await page.goto(`${base}/instances/dry`)
  await page.locator('.timeline li').first().waitFor()
  const head = await walHead()
  const before = (await call(base, 'GET', '/v1/instances/dry')).body

  await page.locator('button[data-event="PAY"]').click()
  await page.getByLabel('Payload (merged into ctx)').fill('{ "paid_with": "voucher" }')
  await page.getByRole('button', { name: 'Preview (dry run)' }).click()
  const preview = page.locator('[data-testid="preview"]')
  await preview.waitFor()
  t.match(await preview.textContent(), /PAY\s*would move\s*pending → paid/, 'the outcome')
  t.match(await preview.textContent(), /Nothing was written/)
  t.match(await preview.locator('.json-tree').textContent(), /amount: 3.*paid_with: "voucher"/, 'the ctx it would leave')
  t.equal(await walHead(), head, 'the WAL head did not move')
  t.same((await call(base, 'GET', '/v1/instances/dry')).body, before, 'the instance is as it was')
  t.equal((await call(base, 'GET', '/v1/instances/dry/history')).body.items.length, 1, 'no history entry')
  t.equal(await page.locator('[data-testid="state"]').textContent(), 'pending')
  t.equal(await page.locator('.timeline li').count(), 1)

  await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: 'dry-broke', initial_ctx: { amount: 0 } } })
  const refusedHead = await walHead()
  await page.goto(`${base}/instances/dry-broke`)
  await page.locator('button[data-event="PAY"][data-guard="false"]').click()
  await page.getByRole('button', { name: 'Preview (dry run)' }).click()
  const problem = page.locator('.transitions .problem')
  await problem.waitFor()
  t.match(await problem.textContent(), /GUARD_FAILED/, 'what applying would answer')
  t.match(await problem.textContent(), /Dry run: .*Nothing was written/)
  t.equal(await walHead(), refusedHead, 'nothing written either')
  await browser.finish()
})

t.test('applying grows the history live, on this page and on another one, without a reload', async t => {
  await seed(base, 'order', 'grow', { amount: 7 })
  const browser = await openBrowser(t)
  const page = await browser.newPage()
  await page.goto(`${base}/instances/grow`)
  await page.locator('.live-live').waitFor()
  await page.locator('.timeline li').first().waitFor()
  const other = await browser.newPage()
  await other.goto(`${base}/instances/grow`)
  await other.locator('.live-live').waitFor()
  await other.locator('.timeline li').first().waitFor()
  await other.evaluate('window.__samePage = true')

  await page.locator('button[data-event="PAY"]').click()
  await page.getByRole('button', { name: 'Preview (dry run)' }).click()
  await page.locator('[data-testid="preview"]').waitFor()
  await page.getByRole('button', { name: 'Apply PAY' }).click()
  await page.getByRole('status').filter({ hasText: 'Applied' }).waitFor()
  t.equal(await page.locator('[data-testid="preview"]').count(), 0, 'the preview is gone once the instance moved')
  const applied = (await call(base, 'GET', '/v1/instances/grow')).body.last_wal_offset as number
  await page.locator(`.timeline li[data-offset="${applied}"]`).waitFor()
  await other.locator(`.timeline li[data-offset="${applied}"]`).waitFor()
  t.match(await other.locator('.timeline li').first().textContent(), /PAY\s*pending → paid/, 'the new entry on top')

  // a change made elsewhere (over REST) arrives the same way
  const shipped = await apply('grow', 'SHIP')
  await other.locator(`.timeline li[data-offset="${shipped}"]`).waitFor()
  await other.locator('[data-testid="state"]', { hasText: 'shipped' }).waitFor()
  const growCreated = (await call(base, 'GET', '/v1/instances/grow/history')).body.items[0].wal_offset as number
  t.same(await offsets(other), [shipped, applied, growCreated], 'every entry, newest first')
  t.equal(await other.evaluate('window.__samePage'), true, 'no reload')
  t.match(await other.locator('.transitions').textContent(), /NOTE/, 'the transitions follow the new state')
  await browser.finish()
})

t.test('creations and deletions: the events page lists them, the instance page says it was deleted', async t => {
  await seed(base, 'order', 'short-lived')
  const browser = await openBrowser(t)
  const events = await browser.newPage()
  await events.goto(`${base}/events`)
  await events.locator('.live-live').waitFor()
  t.ok(await events.getByLabel('Creations and deletions').isChecked(), 'on by default when the server offers them')
  const page = await browser.newPage()
  await page.goto(`${base}/instances/short-lived`)
  await page.locator('.live-live').waitFor()

  await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: 'brief' } })
  const gone = await call(base, 'DELETE', '/v1/instances/short-lived')
  t.equal(gone.status, 200, gone.text)
  await events.locator('.event-list li[data-kind="created"]', { hasText: 'brief' }).waitFor()
  await events.locator('.event-list li[data-kind="deleted"]', { hasText: 'short-lived' }).waitFor()
  await page.getByRole('status').filter({ hasText: 'was deleted' }).waitFor()
  t.ok(await page.locator('.transition-buttons button').first().isDisabled(), 'nothing to apply to a deleted instance')

  // the page subscribes again without lifecycle: wait until the server has answered that subscription
  // (the answer is awaited from the moment the socket exists, so it cannot slip by)
  let answered: Promise<unknown> | undefined
  const resubscribed = events.waitForEvent('websocket', (ws) => {
    const mine = ws.url().includes('/v1/watch') && !ws.url().includes('lifecycle')
    if (mine) answered = ws.waitForEvent('framereceived', (f) => String(f.payload).includes('"id":"open"'))
    return mine
  })
  await events.getByLabel('Creations and deletions').uncheck()
  await resubscribed
  await answered
  await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: 'unseen' } })
  const moved = await apply('unseen', 'CANCEL')
  await events.locator(`.event-list li[data-offset="${moved}"]`).waitFor()
  t.equal(await events.locator('.event-list li[data-kind]').count(), 0, 'without the option only transitions')
  await browser.finish()
})
