import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import WebSocket from 'ws'
import { encodeRecord, stampRecord } from '../../storage/record.js'
import type { WalEntry } from '../../protocol/entries.js'
import { freePort, MAIN } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'
import { call, startGatewayInProcess } from './helpers.js'

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** A WAL large enough that replaying it takes a noticeable while, written straight in the record format. */
function writeLargeWal (dataDir: string, instances: number): void {
  const ts = Date.now()
  const entries: WalEntry[] = [{
    type: 'put_machine',
    machine: 'm',
    version: 1,
    definition_hash: '',
    definition: { states: ['a'], initial: 'a', transitions: [] },
    ts,
  }]
  for (let i = 0; i < instances; i++) {
    entries.push({ type: 'create_instance', instance_id: `i-${i}`, machine: 'm', version: 1, initial_state: 'a', initial_ctx: { n: i, note: 'recovery load' }, ts })
  }
  const records = entries.map((entry, i) => {
    const record = encodeRecord(entry)
    stampRecord(record, i + 1, false)
    return record
  })
  mkdirSync(path.join(dataDir, 'wal'), { recursive: true })
  writeFileSync(path.join(dataDir, 'wal', '0000000000000001.wal'), Buffer.concat(records))
}

t.test('while storage recovers only health, readiness, metrics and the document answer', async t => {
  const dataDir = tempDir(t)
  writeLargeWal(dataDir, 100_000)
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', RSTMDB_DATA: dataDir, RSTMDB_BIND: '127.0.0.1:0', RSTMDB_HTTP_BIND: `127.0.0.1:${port}`, RSTMDB_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  })
  t.teardown(() => {
    child.kill('SIGKILL')
  })

  let healthy = false
  for (let i = 0; i < 2000 && !healthy; i++) {
    healthy = await fetch(`${base}/healthz`).then(r => r.ok, () => false)
    if (!healthy) await sleep(5)
  }
  t.ok(healthy, 'the gateway answers before recovery is over')
  const [ready, info, doc] = await Promise.all([call(base, 'GET', '/readyz'), call(base, 'GET', '/v1/info'), call(base, 'GET', '/openapi.json')])
  t.equal(ready.status, 503, '/readyz is 503 while recovering')
  t.equal(info.status, 503)
  t.equal(info.body.code, 'WAL_IO_ERROR')
  t.equal(info.body.detail, 'recovering')
  t.equal(doc.status, 200, 'the OpenAPI document is served meanwhile')
  const [stream, reconnect] = await Promise.all([call(base, 'GET', '/v1/events'), call(base, 'GET', '/v1/events', { headers: { 'last-event-id': '7' } })])
  t.same([stream.status, stream.body.code], [503, 'WAL_IO_ERROR'], 'a new SSE stream: 503 as any route')
  t.same([reconnect.status, reconnect.headers.get('content-type'), reconnect.text], [200, 'text/event-stream; charset=utf-8', 'retry: 1000\n\n'],
    'a reconnecting EventSource (it sends Last-Event-ID) is told to retry, not refused for good')

  let status = 503
  for (let i = 0; i < 600 && status !== 200; i++) {
    status = (await call(base, 'GET', '/readyz')).status
    if (status !== 200) await sleep(50)
  }
  t.equal(status, 200, 'ready once recovery finished')
  const after = await call(base, 'GET', '/v1/info')
  t.equal(after.status, 200)
  t.equal(after.body.instances, 100_000)
})

t.test('WebSocket pings keep answering clients and cut off silent ones', async t => {
  // the gateway and its clients share this process: a stall longer than the interval (a loaded
  // machine) would look like a silent client, so the interval is generous
  const { wsBase } = await startGatewayInProcess(t, { pingIntervalMs: 1000 })
  const url = `${wsBase}/v1/watch?control=true`
  const open = (autoPong: boolean): Promise<WebSocket> => new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { autoPong })
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })

  const polite = await open(true)
  const silent = await open(false)
  let pings = 0
  polite.on('ping', () => { pings++ })
  const silentClosed = new Promise<number>(resolve => silent.once('close', code => resolve(code)))
  const code = await Promise.race([silentClosed, sleep(10_000).then(() => -1)])
  t.not(code, -1, 'a client that never answers pings is cut off')
  t.ok(pings >= 1, 'the server pings')
  t.equal(polite.readyState, WebSocket.OPEN, 'a client that answers stays connected')
  polite.close()
})
