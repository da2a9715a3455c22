import type { Page } from 'playwright-core'
import { call, startGateway, type Gateway } from '../http/helpers.js'
import type { StartOptions } from '../support/server.js'
import { ORDER as ORDER_DEFINITION } from '../support/machines.js'

export { call, stopGateway, type Gateway } from '../http/helpers.js'
/** pending → paid (guarded), pending|paid → cancelled, paid → shipped, and NOTE back to pending */
export { ORDER_DEFINITION }

/** The real server with its gateway (and so the console) on ephemeral loopback ports. */
export async function startConsole (opts: StartOptions = {}): Promise<Gateway> {
  return await startGateway(opts)
}

/** PUT a machine and create an instance over REST (for tests whose subject is elsewhere). */
export async function seed (base: string, machine: string, id: string, ctx: Record<string, unknown> = { amount: 10 }, headers: Record<string, string> = {}): Promise<void> {
  const put = await call(base, 'PUT', `/v1/machines/${encodeURIComponent(machine)}/versions/1`, { json: ORDER_DEFINITION, headers })
  if (put.status !== 201 && put.status !== 200) throw new Error(`PUT failed: ${put.text}`)
  const created = await call(base, 'POST', '/v1/instances', { json: { machine, version: 1, instance_id: id, initial_ctx: ctx }, headers })
  if (created.status !== 201) throw new Error(`create failed: ${created.text}`)
}

/** Waits until the diagram image has loaded and has a size. */
export async function diagramLoaded (page: Page): Promise<{ width: number, height: number, alt: string }> {
  const img = page.locator('.diagram img')
  await img.waitFor()
  // a string: the test code is compiled without the DOM library
  await page.waitForFunction(`(() => {
    const el = document.querySelector('.diagram img')
    return el !== null && el.complete && el.naturalWidth > 0 && el.closest('.diagram').getAttribute('data-loading') === 'false'
  })()`)
  return await img.evaluate((el: any) => ({ width: el.naturalWidth as number, height: el.naturalHeight as number, alt: el.alt as string }))
}
