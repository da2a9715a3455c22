import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

/**
 * Debian's chromium driven by playwright-core (console.md §3). Every page opened
 * here is watched: an uncaught error, a console error, a failed request or a 5xx
 * answer is recorded, and `finish` fails the test when anything was. 4xx answers
 * are part of the API conversation (a validation 400, a 401 before signing in);
 * Chromium logs each as "Failed to load resource", and only those lines are let
 * through. Screenshots go to .tap/screenshots/<test>[-<page>].png.
 */

export const CHROMIUM = process.env.RSTMDB_CHROMIUM ?? '/usr/bin/chromium'
export const SCREENSHOTS = path.resolve('.tap/screenshots')

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']

const API_4XX = /^Failed to load resource: the server responded with a status of 4\d\d/

export interface Viewport { width: number, height: number }
export const DESKTOP: Viewport = { width: 1280, height: 800 }
export const PHONE: Viewport = { width: 390, height: 844 }

/** The part of a tap test the harness needs. */
export interface TestLike {
  name: string
  teardown: (fn: () => unknown) => void
  same: (...args: any[]) => boolean
}

export interface BrowserOptions {
  viewport?: Viewport
  /** console errors and failed requests this test expects (a server it stopped on purpose) */
  allow?: RegExp[]
}

export interface BrowserSession {
  context: BrowserContext
  /** a new watched tab */
  newPage: () => Promise<Page>
  /** what went wrong so far, one line each */
  problems: string[]
  screenshot: (page: Page, name: string) => Promise<string>
  /** screenshots every open page, then asserts nothing went wrong */
  finish: () => Promise<void>
}

export function slug (text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80)
}

export async function openBrowser (t: TestLike, opts: BrowserOptions = {}): Promise<BrowserSession> {
  const profile = mkdtempSync(path.join(tmpdir(), 'rstmdb-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: opts.viewport ?? DESKTOP,
  })
  const problems: string[] = []
  const allowed = (text: string): boolean => (opts.allow ?? []).some((re) => re.test(text))
  const pages: Page[] = []

  const watch = (page: Page): void => {
    pages.push(page)
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return
      const text = msg.text()
      if (!API_4XX.test(text) && !allowed(text)) problems.push(`console error: ${text}`)
    })
    page.on('requestfailed', (req) => {
      const line = `request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText ?? ''}`
      if (!allowed(line)) problems.push(line)
    })
    page.on('response', (res) => {
      const line = `server error: ${res.status()} ${res.request().method()} ${res.url()}`
      if (res.status() >= 500 && !allowed(line)) problems.push(line)
    })
  }
  context.on('page', watch)
  for (const page of context.pages()) watch(page)
  let spare: Page | undefined = context.pages()[0]

  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await context.close().catch(() => {})
    rmSync(profile, { recursive: true, force: true })
  }
  t.teardown(close)

  const screenshot = async (page: Page, name: string): Promise<string> => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    const file = path.join(SCREENSHOTS, `${slug(name)}.png`)
    await page.screenshot({ path: file, fullPage: true })
    return file
  }

  return {
    context,
    problems,
    async newPage () {
      // the persistent context opens with one blank tab: hand that out first
      const blank = spare
      spare = undefined
      return blank ?? await context.newPage()
    },
    screenshot,
    async finish () {
      const open = pages.filter((p) => !p.isClosed() && p !== spare)
      for (const [i, page] of open.entries()) await screenshot(page, open.length === 1 ? t.name : `${t.name}-${i + 1}`)
      t.same(problems, [], 'no page error, console error, failed request or server error')
      await close()
    },
  }
}
