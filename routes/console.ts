import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { RcpError } from '../protocol/errors.js'
import type { RoutePluginOptions } from './context.js'

/** dist/routes → dist/console, where `npm run build` puts the bundled console (console/README.md). */
const BUILT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../console')

/** Pages of the console: any of these paths loads the app, which routes in the browser. */
const PAGES = ['/', '/machines', '/machines/*', '/instances', '/instances/*', '/events', '/server']

/**
 * The page may load only its own script and style, draw diagrams fetched as blobs,
 * and talk to this server: data shown as text is the defence, this is the backstop.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * The built-in console (console.md §2): its pages at `/` and the deep links the
 * browser-side router knows, and its hashed assets under `/console/assets/`
 * (cached for good, since a new build has new names). Public, like /docs: the
 * shell holds no data, and every API call it makes carries the user's token.
 */
export const consoleRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app) => {
  await app.register(fastifyStatic, {
    root: path.join(BUILT, 'assets'),
    prefix: '/console/assets/',
    decorateReply: false,
    index: false,
    list: false,
    // a directory is not a file: 404 like any unknown asset, rather than send's 403
    allowedPath: (pathName) => !pathName.endsWith('/'),
    maxAge: '365d',
    immutable: true,
    schemaHide: true,
  })

  async function page (reply: FastifyReply): Promise<FastifyReply> {
    let html: string
    try {
      html = await readFile(path.join(BUILT, 'index.html'), 'utf8')
    } catch {
      throw new RcpError('NOT_FOUND', 'the console is not built: run `npm run build`')
    }
    return await reply.type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(html)
  }

  for (const url of PAGES) {
    app.get(url, { config: { auth: 'none' }, schema: { hide: true } }, async (_request, reply) => await page(reply))
  }
}
