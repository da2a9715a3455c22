import t from 'tap'
import { Client } from 'rstmdb'
import { freePort } from '../support/server.js'
import { TOKEN, TOKEN_HASH, call, putOrderMachine, startGateway, stopGateway } from './helpers.js'

function metric (text: string, name: string, labels = ''): number {
  const line = text.split('\n').find(l => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)))
  return line === undefined ? NaN : Number(line.split(' ').pop())
}

t.test('metrics move with traffic on both faces', async t => {
  const server = await startGateway()
  t.teardown(() => stopGateway(server))
  const { base } = server
  const before = (await call(base, 'GET', '/metrics')).text
  t.match(before, /^# TYPE rstmdb_request_duration_seconds histogram$/m)
  t.match(before, /^process_cpu_user_seconds_total /m, 'process metrics')
  await putOrderMachine(base)
  await call(base, 'POST', '/v1/instances', { json: { machine: 'order', version: 1, instance_id: 'm-1' } })
  await call(base, 'POST', '/v1/instances/m-1/events', { json: { event: 'DELIVER' } })
  const rcp = await Client.connect({ servers: [server.address] })
  await rcp.applyEvent({ instance_id: 'm-1', event: 'PAY' })
  const after = (await call(base, 'GET', '/metrics')).text
  t.equal(metric(after, 'rstmdb_requests_total', '{face="http",op="CREATE_INSTANCE",status="ok"}'), 1)
  t.equal(metric(after, 'rstmdb_requests_total', '{face="http",op="APPLY_EVENT",status="error"}'), 1)
  t.equal(metric(after, 'rstmdb_errors_total', '{face="http",code="INVALID_TRANSITION"}'), 1)
  t.equal(metric(after, 'rstmdb_requests_total', '{face="rcp",op="APPLY_EVENT",status="ok"}'), 1)
  t.equal(metric(after, 'rstmdb_connections_active', '{face="rcp"}'), 1)
  t.ok(metric(after, 'rstmdb_connections_total', '{face="http"}') >= 1)
  t.equal(metric(after, 'rstmdb_request_duration_seconds_count', '{face="http",op="PUT_MACHINE"}'), 1)
  t.equal(metric(after, 'rstmdb_instances_total'), 1)
  t.equal(metric(after, 'rstmdb_machines_total'), 1)
  t.equal(metric(after, 'rstmdb_wal_entries'), 3)
  t.ok(metric(after, 'rstmdb_wal_fsyncs_total') >= 3)
  t.ok(metric(after, 'rstmdb_wal_bytes_written_total') > 0)
  t.ok(metric(after, 'rstmdb_wal_size_bytes') > 0)
  t.equal(metric(after, 'rstmdb_wal_segments'), 1)
  for (const name of ['rstmdb_wal_writes_total', 'rstmdb_wal_reads_total', 'rstmdb_wal_bytes_read_total', 'rstmdb_events_forwarded_total']) {
    t.ok(Number.isFinite(metric(after, name)), name)
  }
  await rcp.close()
})

t.test('dedicated metrics listener, with and without auth', async t => {
  const port = await freePort()
  const server = await startGateway({
    env: { RSTMDB_METRICS_ENABLED: 'true', RSTMDB_METRICS_BIND: `127.0.0.1:${port}`, RSTMDB_AUTH_REQUIRED: 'true', RSTMDB_AUTH_TOKEN_HASH: TOKEN_HASH, RSTMDB_METRICS_REQUIRE_AUTH: 'true' },
  })
  t.teardown(() => stopGateway(server))
  const m = `http://127.0.0.1:${port}`
  t.same((await call(m, 'GET', '/health')).body, { status: 'ok' })
  t.same((await call(m, 'GET', '/healthz')).body, { status: 'ok' })
  const refused = await call(m, 'GET', '/metrics')
  t.equal(refused.status, 401)
  t.equal(refused.body.code, 'UNAUTHORIZED')
  t.match(refused.headers.get('www-authenticate'), /^Bearer/)
  for (const base of [m, server.base]) {
    const wrong = await call(base, 'GET', '/metrics', { headers: { authorization: 'Bearer nope' } })
    t.equal(wrong.body.code, 'AUTH_FAILED')
    t.equal(wrong.headers.get('www-authenticate'), 'Bearer error="invalid_token"', `${base}: the same challenge on both listeners`)
  }
  const ok = await call(m, 'GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(ok.status, 200)
  t.match(ok.text, /^rstmdb_connections_total\{face="rcp"\} \d+$/m)
  t.equal((await call(m, 'GET', '/other')).status, 404)
  t.equal((await call(server.base, 'GET', '/metrics')).status, 401, 'the gateway /metrics needs the token too')
})

t.test('CORS per http.cors_origins', async t => {
  const server = await startGateway({ env: { RSTMDB_HTTP_CORS_ORIGINS: 'https://app.example' } })
  t.teardown(() => stopGateway(server))
  const allowed = await call(server.base, 'GET', '/v1/info', { headers: { origin: 'https://app.example' } })
  t.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example')
  t.match(allowed.headers.get('access-control-expose-headers'), /x-wal-offset/)
  const other = await call(server.base, 'GET', '/v1/info', { headers: { origin: 'https://evil.example' } })
  t.equal(other.headers.get('access-control-allow-origin'), null)
  const preflight = await call(server.base, 'OPTIONS', '/v1/instances', { headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'if-match,idempotency-key' } })
  t.equal(preflight.status, 204)
})

t.test('no CORS headers by default; SIGTERM exits 0', async t => {
  const server = await startGateway()
  t.teardown(() => stopGateway(server))
  const res = await call(server.base, 'GET', '/v1/info', { headers: { origin: 'https://app.example' } })
  t.equal(res.headers.get('access-control-allow-origin'), null)
  t.equal((await call(server.base, 'GET', '/readyz')).status, 200)
  t.equal(await server.stop(), 0)
  t.ok(server.logs.some(l => l.message === 'stopped'))
  t.notOk(server.logs.some(l => l.message === 'request completed'), 'requests are logged at debug, not info')
})
