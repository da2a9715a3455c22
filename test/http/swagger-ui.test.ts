import t from 'tap'
import { openBrowser } from '../support/browser.js'
import { startGateway, stopGateway } from './helpers.js'

/**
 * Swagger UI's "Try it out" must not turn documentation into input: the optional headers
 * of apply-event (If-Match, Idempotency-Key) start empty, so a first Execute neither fails
 * a precondition nor replays someone else's key.
 */

const server = await startGateway()
t.teardown(() => stopGateway(server))

t.test('apply-event "Try it out" starts with empty optional headers and a named body example', async t => {
  const browser = await openBrowser(t)
  const page = await browser.newPage()
  await page.goto(`${server.base}/docs/#/events/applyEvent`)
  const operation = page.locator('#operations-events-applyEvent')
  await operation.waitFor()
  if (!(await operation.locator('.try-out__btn').isVisible())) await operation.locator('.opblock-summary').click()
  await operation.locator('.try-out__btn').click()

  for (const header of ['idempotency-key', 'if-match']) {
    const input = operation.locator(`tr[data-param-name="${header}"] input`)
    await input.waitFor()
    t.equal(await input.inputValue(), '', `${header} is empty`)
  }
  const id = operation.locator('tr[data-param-name="id"] input')
  t.equal(await id.inputValue(), '', 'the path id is empty too')
  const body = await operation.locator('textarea.body-param__text').inputValue()
  t.same(JSON.parse(body), { event: 'PAY', payload: { amount: 5 } }, 'the body editor holds the first named example')
  t.notMatch(body, /additionalProp/)
  await operation.locator('.opblock-body').screenshot({ path: await browser.screenshot(page, 'apply-event-try-it-out') })
  await browser.finish()
})
