import net from 'node:net'
import t from 'tap'
import WebSocket from 'ws'
import { startServer, type RunningServer } from '../support/server.js'

/**
 * RCP and the WebSocket share one session core: the same request sequence gives
 * the same envelopes on both (apart from the clock and generated subscription ids).
 */

/** The requests both faces serve, including ones that fail envelope or param checks. */
const SEQUENCE: string[] = [
  '{"id":"1","op":"PING"}',
  '{"id":"2","op":"PING","trace_id":"trace-2"}',
  '{"id":"3","op":"WATCH_INSTANCE","params":{"instance_id":"missing"}}',
  '{"id":"4","op":"UNWATCH","params":{"subscription_id":"sub-none"}}',
  '{"id":"5","op":"WATCH_ALL","params":{"machines":["m"],"include_ctx":false}}',
  '{not json}',
  '{"id":"7"}',
  '{"op":"PING"}',
  '{"id":"9","op":"NOPE"}',
  '{"id":"10","op":"WATCH_ALL","params":{"machines":"m"}}',
  '{"id":"11","op":"UNWATCH","params":{}}',
  '{"id":"12","type":"event","op":"PING"}',
]

/** Envelopes as compared: no clock, subscription ids numbered in order of appearance. */
function normalize (messages: Array<Record<string, any>>): unknown[] {
  const ids = new Map<string, string>()
  const text = JSON.stringify(messages.map(m => {
    const { server_time: _time, ...meta } = m.meta ?? {}
    return { ...m, meta }
  }))
  return JSON.parse(text.replace(/sub-[0-9a-f-]{36}/g, id => {
    if (!ids.has(id)) ids.set(id, `sub-#${ids.size + 1}`)
    return ids.get(id) as string
  }))
}

async function overRcp (port: number): Promise<Array<Record<string, any>>> {
  const socket = net.connect({ host: '127.0.0.1', port })
  const lines: Array<Record<string, any>> = []
  let buffered = ''
  const all = new Promise<void>((resolve, reject) => {
    socket.on('data', chunk => {
      buffered += chunk.toString('utf8')
      let nl = buffered.indexOf('\n')
      while (nl >= 0) {
        lines.push(JSON.parse(buffered.slice(0, nl)))
        buffered = buffered.slice(nl + 1)
        nl = buffered.indexOf('\n')
      }
      if (lines.length === SEQUENCE.length + 1) resolve()
    })
    socket.once('error', reject)
    socket.once('close', () => reject(new Error(`closed after ${lines.length} messages`)))
  })
  socket.write([JSON.stringify({ id: 'hello', op: 'HELLO', params: { protocol_version: 1 } }), ...SEQUENCE].join('\n') + '\n')
  await all
  socket.destroy()
  return lines.slice(1)
}

async function overWebSocket (port: number): Promise<Array<Record<string, any>>> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/watch?control=true`)
  const messages: Array<Record<string, any>> = []
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      for (const text of SEQUENCE) ws.send(text)
    })
    ws.on('message', (data: Buffer) => {
      messages.push(JSON.parse(data.toString('utf8')))
      if (messages.length === SEQUENCE.length) resolve()
    })
    ws.once('error', reject)
    ws.once('close', () => reject(new Error(`closed after ${messages.length} messages`)))
  })
  ws.removeAllListeners('close')
  ws.close()
  return messages
}

async function metricsText (server: RunningServer): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${server.httpPort as number}/metrics`)).text()
}

t.test('the same request sequence gives identical envelopes over RCP and the WebSocket', async t => {
  const server = await startServer(t, { env: { RSTMDB_HTTP_ENABLED: 'true' } })
  const rcp = normalize(await overRcp(server.rcpPort))
  const ws = normalize(await overWebSocket(server.httpPort as number))
  t.same(ws, rcp)
  t.match(rcp, [
    { id: '1', status: 'ok', result: { pong: true }, meta: { leader: true, wal_offset: 0 } },
    { id: '2', status: 'ok', meta: { trace_id: 'trace-2' } },
    { id: '3', status: 'error', error: { code: 'INSTANCE_NOT_FOUND' } },
    { id: '4', status: 'ok', result: { removed: false } },
    { id: '5', status: 'ok', result: { subscription_id: 'sub-#1' } },
    { id: '', error: { code: 'BAD_REQUEST', details: { reason: 'invalid_json' } } },
    { id: '7', error: { code: 'BAD_REQUEST', details: { field: 'op' } } },
    { id: '', error: { code: 'BAD_REQUEST', details: { field: 'id' } } },
    { id: '9', error: { code: 'BAD_REQUEST', details: { op: 'NOPE' } } },
    { id: '10', error: { code: 'BAD_REQUEST', details: { field: 'machines' } } },
    { id: '11', error: { code: 'BAD_REQUEST', details: { field: 'subscription_id' } } },
    { id: '12', error: { code: 'BAD_REQUEST', details: { field: 'type' } } },
  ])

  const metrics = await metricsText(server)
  for (const face of ['rcp', 'http']) {
    t.match(metrics, new RegExp(`rstmdb_requests_total\\{face="${face}",op="INVALID",status="error"\\} 5\\n`),
      `${face}: unparseable requests are counted under one op label`)
  }
})
