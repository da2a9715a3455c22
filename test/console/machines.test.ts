import t from 'tap'
import { openBrowser } from '../support/browser.js'
import { call, diagramLoaded, ORDER_DEFINITION, startConsole, stopGateway } from './helpers.js'

const server = await startConsole()
t.teardown(() => stopGateway(server))
const { base } = server

t.test('a machine through the editor: a validation error first, then saved, drawn, versioned', async t => {
  const browser = await openBrowser(t)
  const page = await browser.newPage()
  await page.goto(`${base}/`)
  await page.getByText('No machines yet').waitFor()
  await page.getByRole('link', { name: 'Create the first machine' }).click()
  t.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/machines?new')

  await page.getByLabel('Machine name').fill('shop')
  const broken = { ...ORDER_DEFINITION, initial: 'nowhere', transitions: [{ ...ORDER_DEFINITION.transitions[0], guard: 'ctx.amount > 0 && now()' }] }
  const expected = (await call(base, 'POST', '/v1/machines/validate', { json: broken })).body.details.errors[1]
  await page.locator('#definition').fill(JSON.stringify(broken, null, 2))
  const problem = page.locator('.validation .problem')
  await problem.waitFor()
  t.match(await problem.textContent(), /BAD_REQUEST/)
  t.same(await problem.locator('code.field').allTextContents(), ['initial', 'transitions[0].guard'], 'every error with its field')
  t.equal(expected.position, 18)
  t.equal(await problem.locator('.guard-pointer').textContent(), `ctx.amount > 0 && now()\n${' '.repeat(18)}^`, 'the caret under the guard position')
  t.ok(await page.getByRole('button', { name: 'Create machine' }).isDisabled(), 'cannot save an invalid definition')

  await page.locator('#definition').fill('{ "states": [')
  await page.getByText(/Invalid JSON/).waitFor()

  await page.locator('#definition').fill(JSON.stringify(ORDER_DEFINITION, null, 2))
  await page.locator('.validation[data-state="valid"]').waitFor()
  await page.getByRole('button', { name: 'Create machine' }).click()
  await page.waitForURL('**/machines/shop/versions/1')
  const diagram = await diagramLoaded(page)
  t.ok(diagram.width > 100 && diagram.height > 50, 'the diagram is drawn')
  const stored = await call(base, 'GET', '/v1/machines/shop/versions/1')
  t.equal(await page.locator('.facts dd').first().textContent(), stored.body.checksum, 'the checksum shown is the stored one')
  t.match(await page.locator('pre.code').textContent(), /"from": \[\n\s+"pending"\n\s+\]/, 'the normalized definition')

  await page.getByRole('link', { name: 'New version' }).click()
  await page.waitForURL('**/machines/shop/versions/new')
  await page.locator('.validation[data-state="valid"]').waitFor()
  t.equal(await page.getByLabel('Version').inputValue(), '2', 'the next version number')
  t.same(JSON.parse(await page.locator('#definition').inputValue()), (await call(base, 'GET', '/v1/machines/shop/versions/1')).body.definition, 'starts from the latest definition')
  await page.getByRole('button', { name: 'Save version 2' }).click()
  await page.waitForURL('**/machines/shop/versions/2')
  await page.locator('a.chip[aria-current="page"]', { hasText: 'v2' }).waitFor()

  await page.goBack()
  await page.waitForURL('**/machines/shop/versions/new')
  await page.goBack()
  await page.waitForURL('**/machines/shop/versions/1')
  await page.locator('a.chip[aria-current="page"]', { hasText: 'v1' }).waitFor()
  await page.goForward()
  await page.waitForURL('**/machines/shop/versions/new')

  await page.getByRole('link', { name: 'Machines', exact: true }).first().click()
  await page.waitForURL('**/machines')
  await page.locator('td .versions a').nth(1).waitFor()
  t.same(await page.locator('td .versions a').allTextContents(), ['v1', 'v2'])
  await browser.finish()
})

t.test('an existing version is refused with the server problem', async t => {
  const browser = await openBrowser(t)
  const page = await browser.newPage()
  await page.goto(`${base}/machines?new`)
  await page.getByLabel('Machine name').fill('shop')
  await page.locator('#definition').fill(JSON.stringify({ ...ORDER_DEFINITION, states: [...ORDER_DEFINITION.states, 'lost'] }))
  await page.locator('.validation[data-state="valid"]').waitFor()
  await page.getByRole('button', { name: 'Create machine' }).click()
  const problem = page.locator('.editor > .problem')
  await problem.waitFor()
  t.match(await problem.textContent(), /MACHINE_VERSION_EXISTS/)
  t.match(await problem.textContent(), /HTTP 409/)
  await browser.finish()
})

t.test('keyboard: the navigation and the editor are reachable with Tab', async t => {
  const browser = await openBrowser(t)
  const page = await browser.newPage()
  await page.goto(`${base}/machines`)
  await page.locator('table').waitFor()
  const focused: string[] = []
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab')
    focused.push(await page.evaluate('document.activeElement.textContent.trim()') as string)
  }
  t.ok(focused.includes('Instances') && focused.includes('New machine'), `tab order reaches the nav and the actions: ${focused.join(' | ')}`)
  await page.getByRole('link', { name: 'New machine' }).focus()
  await page.keyboard.press('Enter')
  await page.waitForURL('**/machines?new')
  await browser.finish()
})
