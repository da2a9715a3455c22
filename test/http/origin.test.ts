import t from 'tap'
import WebSocket from 'ws'
import { openWatch, refusedUpgrade, startGateway, stopGateway } from './helpers.js'

/** Cross-site WebSocket hijacking: a browser page of another origin must not read the event stream. */

const server = await startGateway({ env: { RSTMDB_HTTP_CORS_ORIGINS: 'https://app.example' } })
t.teardown(() => stopGateway(server))
const { wsBase } = server
const own = `http://127.0.0.1:${server.httpPort as number}`

async function opens (origin?: string): Promise<boolean> {
  const client = await openWatch(`${wsBase}/v1/watch?control=true`, origin === undefined ? {} : { origin })
  const alive = client.ws.readyState === WebSocket.OPEN
  client.ws.close()
  return alive
}

t.test('a page of another origin is refused with 403 before the upgrade', async t => {
  for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${(server.httpPort as number) + 1}`, 'https://app.example.evil.test']) {
    const refused = await refusedUpgrade(`${wsBase}/v1/watch`, { origin })
    t.equal(refused.status, 403, origin)
    t.match(refused.body, { code: 'UNAUTHORIZED', details: { reason: 'origin_not_allowed', origin } })
  }
})

t.test('the gateway\'s own pages, listed origins and clients without Origin are let in', async t => {
  t.ok(await opens(own), 'a page served by the gateway')
  t.ok(await opens(own.replace('http:', 'https:')), 'the same host behind a TLS proxy')
  t.ok(await opens('https://app.example'), 'listed in http.cors_origins')
  t.ok(await opens(), 'no Origin: CLI tools and servers')
})

t.test('the check only guards streams: REST calls from any origin follow CORS as before', async t => {
  const res = await fetch(`${own}/v1/info`, { headers: { origin: 'http://evil.example' } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('access-control-allow-origin'), null)
})
