import WebSocket from 'ws'
import pino from 'pino'
import { hashToken } from '../../protocol/auth.js'
import { DEFAULT_COMPACTION, DEFAULT_STORAGE } from '../../src/config/schema.js'
import { createMetrics } from '../../src/metrics.js'
import { createTokenChecker } from '../../src/ops/auth.js'
import { openDatabase } from '../../src/ops/index.js'
import { startHttpServer, type HttpServerOptions } from '../../routes/server.js'
import { FULFILMENT_ORDER as ORDER_MACHINE } from '../support/machines.js'
import { launchServer, removeDir, type RunningServer, type StartOptions } from '../support/server.js'
import { tempDir, type Teardown } from '../support/temp-dir.js'

export { ORDER_MACHINE }

export const TOKEN = 'http-test-token'
export const TOKEN_HASH = hashToken(TOKEN)

export interface Gateway extends RunningServer {
  base: string
  wsBase: string
}

/** The real server with the gateway on an ephemeral loopback port. */
export async function startGateway (opts: StartOptions = {}): Promise<Gateway> {
  const server = await launchServer({ ...opts, env: { RSTMDB_HTTP_ENABLED: 'true', ...opts.env } })
  if (server.httpPort === null) throw new Error('gateway did not report its address')
  return { ...server, base: `http://127.0.0.1:${server.httpPort}`, wsBase: `ws://127.0.0.1:${server.httpPort}` }
}

/**
 * The gateway in this process over a database in a temp dir, for the internal options a
 * server process does not take (ping intervals); closed at teardown.
 */
export async function startGatewayInProcess (t: Teardown, options: Partial<HttpServerOptions> = {}): Promise<{ base: string, wsBase: string }> {
  const db = await openDatabase({ storage: { ...DEFAULT_STORAGE, data_dir: tempDir(t) }, compaction: { ...DEFAULT_COMPACTION, enabled: false } })
  const metrics = createMetrics()
  const gateway = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    bodyLimit: 1024 * 1024,
    corsOrigins: [],
    tokens: createTokenChecker([], false),
    metrics,
    metricsRequireAuth: false,
    hooks: metrics.face('http'),
    logger: pino({ level: 'silent' }),
    connections: metrics.connections,
    ...options,
  })
  gateway.attach(db)
  gateway.ready()
  t.teardown(async () => {
    await gateway.close()
    await db.close()
  })
  return { base: `http://127.0.0.1:${gateway.address.port}`, wsBase: `ws://127.0.0.1:${gateway.address.port}` }
}

export async function stopGateway (server: Gateway): Promise<void> {
  await server.stop()
  removeDir(server.dataDir)
}

export interface Answer {
  status: number
  headers: Headers
  body: any
  text: string
}

/** One request; a JSON body is sent as application/json unless `raw` gives the exact bytes. */
export async function call (base: string, method: string, path: string, opts: { json?: unknown, raw?: string | Buffer, headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers }
  let body: string | Buffer | undefined = opts.raw
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json)
    headers['content-type'] ??= 'application/json'
  }
  const res = await fetch(base + path, { method, headers, body })
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch {}
  return { status: res.status, headers: res.headers, body: parsed, text }
}

/** A WebSocket client that records every message. */
export interface WatchClient {
  ws: WebSocket
  messages: any[]
  waitFor: (predicate: (m: any) => boolean, timeoutMs?: number) => Promise<any>
  request: (op: string, params?: unknown) => Promise<any>
  events: (subscriptionId?: string) => any[]
  closed: Promise<{ code: number, reason: string }>
}

let nextId = 1

export async function openWatch (url: string, headers: Record<string, string> = {}): Promise<WatchClient> {
  const ws = new WebSocket(url, { headers })
  const messages: any[] = []
  const waiters: Array<{ predicate: (m: any) => boolean, resolve: (m: any) => void }> = []
  const closed = new Promise<{ code: number, reason: string }>(resolve => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8'))
    messages.push(message)
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].predicate(message)) {
        waiters[i].resolve(message)
        waiters.splice(i, 1)
      }
    }
  })
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${String(res.statusCode)}`), { statusCode: res.statusCode, headers: res.headers })))
    ws.once('error', reject)
  })
  function waitFor (predicate: (m: any) => boolean, timeoutMs = 10_000): Promise<any> {
    const seen = messages.find(predicate)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a WebSocket message')), timeoutMs)
      waiters.push({ predicate, resolve: (m) => { clearTimeout(timer); resolve(m) } })
    })
  }
  return {
    ws,
    messages,
    waitFor,
    request (op, params) {
      const id = `r${nextId++}`
      const answer = waitFor(m => m.type === 'response' && m.id === id)
      ws.send(JSON.stringify({ type: 'request', id, op, ...(params === undefined ? {} : { params }) }))
      return answer
    },
    events: (sid) => messages.filter(m => m.type === 'event' && (sid === undefined || m.subscription_id === sid)),
    closed,
  }
}

/** Refused upgrades: the HTTP status and body of the answer. */
export function refusedUpgrade (url: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, unknown>, body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.on('open', () => { ws.close(); reject(new Error('upgrade was accepted')) })
    ws.on('error', () => {})
    ws.on('unexpected-response', (req, res) => {
      let text = ''
      res.on('close', () => req.destroy())
      res.on('data', (d: Buffer) => { text += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }))
    })
  })
}

export async function putOrderMachine (base: string, machine = 'order', headers: Record<string, string> = {}): Promise<void> {
  const res = await call(base, 'PUT', `/v1/machines/${machine}/versions/1`, { json: ORDER_MACHINE, headers })
  if (res.status !== 201 && res.status !== 200) throw new Error(`PUT machine failed: ${res.text}`)
}

export function isProblem (body: any, status: number, code: string): boolean {
  return body !== null && typeof body === 'object' &&
    body.type === `https://rstmdb.dev/errors/${code}` && typeof body.title === 'string' &&
    body.status === status && typeof body.detail === 'string' && body.code === code && typeof body.retryable === 'boolean'
}

/** Open subscriptions of every type, from /metrics. */
export async function activeSubscriptions (base: string): Promise<number> {
  const text = (await call(base, 'GET', '/metrics')).text
  let total = 0
  for (const m of text.matchAll(/^rstmdb_subscriptions_active\{type="\w+"\} (\d+)$/gm)) total += Number(m[1])
  return total
}

/** The open subscriptions once none is left, or after about 2 s of asking. */
export async function subscriptionsAfterClose (base: string): Promise<number> {
  let remaining = await activeSubscriptions(base)
  for (let i = 0; i < 100 && remaining > 0; i++) {
    await new Promise(resolve => setTimeout(resolve, 20))
    remaining = await activeSubscriptions(base)
  }
  return remaining
}
