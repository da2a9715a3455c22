import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { WalEntry } from '../../protocol/entries.js'
import { encodeRecord, stampRecord } from '../../storage/record.js'
import { clientFor, rejected } from '../support/client.js'
import { FULFILMENT_ORDER } from '../support/machines.js'
import { startServer } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'
import { call } from './helpers.js'

/** rcp.md §9 fingerprints: a key replays the same request and refuses any other, on both faces and after a restart. */

const REUSED = { code: 'CONFLICT', details: { reason: 'idempotency_key_reused' } }

t.test('a key replays the same request; another payload, event, expectation or target is refused and writes nothing', async t => {
  const dir = tempDir(t)
  let server = await startServer(t, { dataDir: dir, env: { RSTMDB_HTTP_ENABLED: 'true' } })
  let client = await clientFor(t, server)
  await client.putMachine({ machine: 'order', version: 1, definition: FULFILMENT_ORDER })
  for (const id of ['o-1', 'o-2']) await client.createInstance({ machine: 'order', version: 1, instance_id: id })

  const pay = { instance_id: 'o-1', event: 'PAY', payload: { amount: 5 }, idempotency_key: 'pay-1' }
  const first = await client.applyEvent(pay)
  t.equal(first.applied, true)
  const replay = await client.applyEvent({ ...pay })
  t.same(replay, { ...first, applied: false }, 'the same request replays the stored result')

  const head = (await client.info()).wal_offset
  const variants = [
    { ...pay, payload: { amount: 6 } },
    { ...pay, payload: null },
    { ...pay, event: 'CANCEL' },
    { ...pay, expected_state: 'created' },
    { ...pay, expected_wal_offset: first.wal_offset },
    { ...pay, event_id: 'e-9' },
  ]
  for (const variant of variants) {
    t.match(await rejected(client.applyEvent(variant)), { ...REUSED, details: { ...REUSED.details, idempotency_key: 'pay-1' } }, JSON.stringify(variant))
  }
  t.equal((await client.info()).wal_offset, head, 'nothing written')
  t.equal((await client.getInstance({ instance_id: 'o-1' })).state, 'paid')
  // another target is another scope: the key is free there
  t.equal((await client.applyEvent({ ...pay, instance_id: 'o-2' })).applied, true, 'the same key on another instance is another scope')

  const base = `http://127.0.0.1:${server.httpPort as number}`
  const rest = await call(base, 'POST', '/v1/instances/o-1/events', { json: { event: 'PAY', payload: { amount: 5 } }, headers: { 'idempotency-key': 'pay-1' } })
  t.equal(rest.status, 200, 'REST replays the same request')
  t.equal(rest.body.applied, false)
  const restReused = await call(base, 'POST', '/v1/instances/o-1/events', { json: { event: 'PAY', payload: { amount: 7 } }, headers: { 'idempotency-key': 'pay-1' } })
  t.equal(restReused.status, 422, 'REST answers a reused key with 422')
  t.match(restReused.body, { code: 'CONFLICT', details: { reason: 'idempotency_key_reused', idempotency_key: 'pay-1' } })

  await client.createInstance({ machine: 'order', version: 1, instance_id: 'o-3', initial_ctx: { a: 1 }, idempotency_key: 'c-3' })
  t.match(await rejected(client.createInstance({ machine: 'order', version: 1, instance_id: 'o-3', initial_ctx: { a: 2 }, idempotency_key: 'c-3' })), REUSED)
  await client.deleteInstance({ instance_id: 'o-3', idempotency_key: 'd-3' })
  t.equal((await client.deleteInstance({ instance_id: 'o-3', idempotency_key: 'd-3' })).deleted, true, 'a delete replays')
  const batch = await call(base, 'POST', '/v1/batch', { json: { mode: 'atomic', ops: [{ op: 'APPLY_EVENT', params: { instance_id: 'o-2', event: 'SHIP', idempotency_key: 'pay-1' } }] } })
  t.equal(batch.status, 422, 'an atomic batch fails with the op\'s error')
  t.match(batch.body.details, { reason: 'idempotency_key_reused', batch_index: 0 })

  await client.close()
  await server.stop()
  server = await startServer(t, { dataDir: dir })
  client = await clientFor(t, server)
  t.same(await client.applyEvent({ ...pay }), { ...first, applied: false }, 'after a restart the same request still replays')
  t.match(await rejected(client.applyEvent({ ...pay, payload: { amount: 6 } })), REUSED, 'and another one is still refused')
  await client.compact({ force_snapshot: true })
  await client.close()
  await server.stop()
  server = await startServer(t, { dataDir: dir })
  client = await clientFor(t, server)
  t.match(await rejected(client.applyEvent({ ...pay, payload: { amount: 6 } })), REUSED, 'the fingerprint survives a full snapshot')
  await client.close()
})

t.test('records written before fingerprints match any request', async t => {
  const dir = tempDir(t)
  const ts = Date.now()
  const entries: WalEntry[] = [
    { type: 'put_machine', machine: 'order', version: 1, definition_hash: '', definition: { states: ['a', 'b'], initial: 'a', transitions: [{ from: ['a'], event: 'GO', to: 'b' }] }, ts },
    { type: 'create_instance', instance_id: 'old', machine: 'order', version: 1, initial_state: 'a', initial_ctx: {}, ts },
    { type: 'apply_event', instance_id: 'old', machine: 'order', version: 1, event: 'GO', from_state: 'a', to_state: 'b', payload: { n: 1 }, ctx: { n: 1 }, idempotency_key: 'legacy', ts },
  ]
  fs.mkdirSync(path.join(dir, 'wal'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'wal', '0000000000000001.wal'), Buffer.concat(entries.map((entry, i) => {
    const record = encodeRecord(entry)
    stampRecord(record, i + 1, false)
    return record
  })))
  const server = await startServer(t, { dataDir: dir })
  const client = await clientFor(t, server)
  const replay = await client.applyEvent({ instance_id: 'old', event: 'SOMETHING_ELSE', payload: { n: 2 }, idempotency_key: 'legacy' })
  t.same(replay, { from_state: 'a', to_state: 'b', ctx: { n: 1 }, wal_offset: 3, applied: false })
  await client.close()
})
