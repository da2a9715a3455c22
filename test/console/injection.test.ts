import t from 'tap'
import { openBrowser } from '../support/browser.js'
import { call, diagramLoaded, startConsole, stopGateway } from './helpers.js'

/**
 * Markup in every user-given string (machine, state, event, guard, instance id,
 * ctx, payload) is shown as text: each payload would set window.__pwned if it ran.
 * That holds on every view of them: lists, diagram, transitions with their guard,
 * the dry-run preview, the history timeline, time travel and the live events.
 */

const SCRIPT = '<script>window.__pwned=1</script>'
const IMG = '"><img src=x onerror="window.__pwned=1">'
const MACHINE = `m${IMG}`
const STATE_A = `a${SCRIPT}`
const STATE_B = `b${IMG}`
const EVENT = `GO${IMG}`
const ID = `i${SCRIPT}`

const server = await startConsole()
t.teardown(() => stopGateway(server))
const { base } = server
const definition = {
  states: [STATE_A, STATE_B],
  initial: STATE_A,
  transitions: [{ from: STATE_A, event: EVENT, to: STATE_B, guard: `ctx.note != "${SCRIPT.replace(/"/g, '\\"')}"` }],
}
const seg = encodeURIComponent
const put = await call(base, 'PUT', `/v1/machines/${seg(MACHINE)}/versions/1`, { json: definition })
if (put.status !== 201) throw new Error(put.text)
const created = await call(base, 'POST', '/v1/instances', { json: { machine: MACHINE, version: 1, instance_id: ID, initial_ctx: { [IMG]: SCRIPT, nested: { html: IMG } } } })
if (created.status !== 201) throw new Error(created.text)

async function untouched (page: import('playwright-core').Page): Promise<{ pwned: unknown, images: number, scripts: number }> {
  return await page.evaluate(`({
    pwned: window.__pwned,
    images: document.querySelectorAll('img:not(.diagram img)').length,
    scripts: document.querySelectorAll('script:not([type="module"][src^="/console/assets/"])').length,
  })`) as { pwned: unknown, images: number, scripts: number }
}

t.test('every page shows the markup as text and runs none of it', async t => {
  const browser = await openBrowser(t)
  const page = await browser.newPage()

  await page.goto(`${base}/machines`)
  await page.getByRole('link', { name: MACHINE }).waitFor()
  t.same(await untouched(page), { pwned: undefined, images: 0, scripts: 0 }, 'machines')

  await page.getByRole('link', { name: MACHINE }).click()
  await diagramLoaded(page)
  t.match(await page.locator('pre.code').textContent(), 'GO\\"><img src=x onerror=\\"window.__pwned=1\\">', 'the definition as text')
  t.same(await untouched(page), { pwned: undefined, images: 0, scripts: 0 }, 'version page')

  await page.goto(`${base}/instances`)
  await page.getByRole('link', { name: ID }).click()
  await page.waitForURL(`**/instances/${seg(ID)}`)
  await page.locator('[data-testid="state"]', { hasText: STATE_A }).waitFor()
  t.equal(await page.locator('h1').textContent(), ID, 'the id as text')
  t.match(await page.locator('[data-testid="ctx"] .json-tree').textContent(), `${IMG}: "${SCRIPT}"`, 'ctx keys and values as text')
  await diagramLoaded(page)
  t.same(await untouched(page), { pwned: undefined, images: 0, scripts: 0 }, 'instance page')

  const events = await browser.newPage()
  await events.goto(`${base}/events`)
  await events.locator('.live-live').waitFor()

  const button = page.locator('.transition-buttons button').first()
  t.equal(await button.getAttribute('data-event'), EVENT, 'the event as an attribute value')
  t.match(await button.textContent(), `${EVENT} → ${STATE_B}guard passes`, 'the transition and its evaluated guard as text')
  await button.click()
  t.match(await page.locator('.apply').textContent(), `Guard ctx.note != "${SCRIPT.replace(/"/g, '\\"')}"`, 'the guard as text')
  await page.getByLabel('Payload (merged into ctx)').fill(JSON.stringify({ note: IMG, [SCRIPT]: IMG }))
  await page.getByRole('button', { name: 'Preview (dry run)' }).click()
  const preview = page.locator('[data-testid="preview"]')
  await preview.waitFor()
  t.match(await preview.textContent(), `${EVENT} would move ${STATE_A} → ${STATE_B}`, 'the dry-run outcome as text')
  t.match(await preview.locator('.json-tree').textContent(), `${SCRIPT}: "${IMG}"`, 'the ctx it would leave as text')
  t.same(await untouched(page), { pwned: undefined, images: 0, scripts: 0 }, 'after the dry run')
  await page.getByRole('button', { name: `Apply ${EVENT}` }).click()
  await page.locator('[data-testid="state"]', { hasText: STATE_B }).waitFor()
  t.same(await untouched(page), { pwned: undefined, images: 0, scripts: 0 }, 'after applying the payload')

  const applied = page.locator('.timeline li').first()
  await applied.locator('.t-head', { hasText: EVENT }).waitFor()
  t.match(await applied.locator('.t-head').textContent(), `${EVENT}${STATE_A} → ${STATE_B}`, 'the history entry as text')
  await applied.locator('summary', { hasText: 'payload' }).click()
  t.match(await applied.locator('.json-tree').textContent(), `note: "${IMG}"`, 'its payload as text')
  const first = page.locator('.timeline li').last()
  await first.locator('summary', { hasText: 'initial ctx' }).click()
  t.match(await first.locator('.json-tree').textContent(), `${IMG}: "${SCRIPT}"`, 'the initial ctx as text')
  t.same(await untouched(page), { pwned: undefined, images: 0, scripts: 0 }, 'history timeline')

  await first.getByRole('link', { name: /view as of/ }).click()
  await page.locator('[data-testid="state"]', { hasText: STATE_A }).waitFor()
  t.match(await page.locator('.banner').textContent(), `now: ${STATE_B}`, 'the state of now, in the time-travel banner, as text')
  await diagramLoaded(page)
  t.same(await untouched(page), { pwned: undefined, images: 0, scripts: 0 }, 'time travel')

  const row = events.locator('.event-list li').first()
  await row.waitFor()
  t.match(await row.textContent(), `${EVENT}${STATE_A} → ${STATE_B}${ID}`)
  await row.locator('summary', { hasText: 'payload' }).click()
  t.match(await row.locator('.json-tree').textContent(), `${SCRIPT}: "${IMG}"`)

  const SECOND = `j${IMG}`
  await call(base, 'POST', '/v1/instances', { json: { machine: MACHINE, version: 1, instance_id: SECOND } })
  const born = events.locator('.event-list li[data-kind="created"]')
  await born.waitFor()
  t.match(await born.textContent(), `created${STATE_A}${SECOND}${MACHINE} v1`, 'a creation as text')
  t.same(await untouched(events), { pwned: undefined, images: 0, scripts: 0 }, 'events page')
  await browser.finish()
})
