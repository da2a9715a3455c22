import t from 'tap'
import { TOKEN, TOKEN_HASH } from '../http/helpers.js'
import { openBrowser } from '../support/browser.js'
import { call, seed, startConsole, stopGateway } from './helpers.js'

const server = await startConsole({ env: { RSTMDB_AUTH_REQUIRED: 'true', RSTMDB_AUTH_TOKEN_HASH: TOKEN_HASH } })
t.teardown(() => stopGateway(server))
const { base } = server
const bearer = { authorization: `Bearer ${TOKEN}` }
await seed(base, 'vault', 'vault-1', { amount: 3 }, bearer)

t.test('the shell is public; the API is not', async t => {
  t.equal((await call(base, 'GET', '/')).status, 200)
  t.equal((await call(base, 'GET', '/instances/vault-1')).status, 200)
  t.equal((await call(base, 'GET', '/v1/machines')).status, 401)
})

t.test('sign in when the server answers 401: refused token, then the right one, kept for the tab and used by the live feed', async t => {
  const browser = await openBrowser(t)
  const page = await browser.newPage()
  await page.goto(`${base}/machines`)
  const dialog = page.getByRole('dialog', { name: 'Sign in' })
  await dialog.waitFor()
  await page.getByLabel('Token').fill('not-the-token')
  await page.getByLabel('Token').press('Enter')
  await dialog.getByText('Token refused (AUTH_FAILED)').waitFor()
  await page.getByLabel('Token').fill(TOKEN)
  await dialog.getByRole('button', { name: 'Sign in' }).click()
  await dialog.waitFor({ state: 'detached' })
  await page.getByRole('link', { name: 'vault' }).waitFor()
  t.equal(await page.evaluate('sessionStorage.getItem("rstmdb.token")'), TOKEN, 'kept in sessionStorage')

  await page.goto(`${base}/instances/vault-1`)
  await page.locator('.live-live').waitFor()
  await page.locator('.diagram img').waitFor()
  await page.locator('button[data-event="PAY"]').click()
  await page.getByRole('button', { name: 'Apply PAY' }).click()
  await page.locator('[data-testid="state"]', { hasText: 'paid' }).waitFor()
  await page.locator('.live-badge', { hasText: /offset \d+/ }).waitFor()

  await page.getByRole('button', { name: 'Sign out' }).click()
  t.equal(await page.evaluate('sessionStorage.getItem("rstmdb.token")'), null, 'signing out forgets the token')
  await dialog.waitFor()
  await browser.finish()
})
