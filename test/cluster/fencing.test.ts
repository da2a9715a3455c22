import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { jetstream } from '@nats-io/jetstream'
import type { ApplyEventEntry } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
import { subjectToken } from '../../storage/jetstream/index.js'
import { recordHeaders } from '../../storage/jetstream/records.js'
import { allAt, call, electedLeader, natsFor, nodesFor, ORDER, proxyFor, snapshotText, startNode, until } from './helpers.js'

/**
 * A leader cut off from NATS past its lease (its traffic held by a proxy, then delivered,
 * as after SIGSTOP/SIGCONT): it stops deciding when the lease lapses, another node takes
 * over, the old leader's delayed appends are refused or dropped, and it converges.
 * No acknowledged write is lost; never two leaders taking writes.
 */
/**
 * As a client does: again after a retryable refusal. The old leader's delayed appends never
 * take effect, but one that lands where the new leader was appending makes it step down, and
 * the election that follows refuses writes for a moment.
 */
async function persistently<T> (attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (err) {
      if (!(err instanceof RcpError) || !err.retryable || n === 20) throw err
    }
  }
}

t.test('a leader cut off past its lease is fenced, steps down and converges', async (t) => {
  const nats = await natsFor(t, 3)
  const proxy = await proxyFor(t, nats)
  const nodes = nodesFor(t)
  const old = await startNode([proxy.url], 'old', { cluster: { replicas: 3, write_wait_ms: 2000 } })
  nodes.push(old)
  t.equal((await electedLeader(nodes)).id, 'old', 'the first node leads')
  nodes.push(await startNode(nats.urls, 'b'), await startNode(nats.urls, 'c'))
  await call(old, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await call(old, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'x' })

  // who takes writes, sampled all along: never two at once
  let maxLeaders = 0
  const sampler = setInterval(() => {
    const taking = nodes.filter((n) => n.node.status().role === 'leader').length
    maxLeaders = Math.max(maxLeaders, taking)
  }, 5)
  t.teardown(() => clearInterval(sampler))

  // keyed writers on the old leader; they keep going while it is cut off
  const acked = new Map<string, number>()
  const failures: RcpError[] = []
  const failedKeys: string[] = []
  let writing = true
  const writer = async (w: number): Promise<void> => {
    // eslint-disable-next-line no-unmodified-loop-condition -- the test sets writing to false while this loop awaits
    for (let k = 0; writing; k++) {
      const key = `w${w}-${k}`
      try {
        const out = await call(old, 'APPLY_EVENT', { instance_id: 'x', event: 'NOTE', payload: { key }, idempotency_key: key })
        acked.set(key, out.walOffset)
      } catch (err) {
        if (!(err instanceof RcpError)) throw err
        failures.push(err)
        failedKeys.push(key)
      }
    }
  }
  const writers = [0, 1, 2, 3].map(writer)
  await until('some writes through the old leader', () => acked.size >= 20)

  proxy.pause()
  const rest = nodes.filter((n) => n !== old)
  const next = await electedLeader(rest)
  await until('the old leader gave up', () => old.node.status().role !== 'leader')
  const during = await call(next, 'APPLY_EVENT', { instance_id: 'x', event: 'NOTE', payload: { key: 'new' } })
  t.ok(during.walOffset > 0, `${next.id} takes writes`)
  proxy.resume()
  writing = false
  await Promise.all(writers)

  t.ok(failures.length > 0, 'writes on the cut-off leader failed')
  for (const f of failures) {
    t.ok(f.code === 'WAL_IO_ERROR' && f.retryable && ['leadership_lost', 'no_leader'].includes(f.details.reason as string), `retryable ${String(f.details.reason)}`)
  }
  t.equal(maxLeaders, 1, 'never two leaders')
  t.ok(old.logs.some((l) => l.message === 'no longer the leader'), 'the old leader stepped down')

  // convergence: the old node applies the new leader's log, and every acknowledged write is in it
  // a refused write may or may not have been made: retried with its key, it is there exactly once
  const retried = new Map<string, number>()
  for (const key of failedKeys) {
    retried.set(key, (await persistently(() => call(nodes[2], 'APPLY_EVENT', { instance_id: 'x', event: 'NOTE', payload: { key }, idempotency_key: key }))).walOffset)
  }
  const last = await persistently(() => call(nodes[2], 'APPLY_EVENT', { instance_id: 'x', event: 'NOTE', payload: { key: 'last' }, idempotency_key: 'last' }))
  await allAt(nodes, last.walOffset)
  await until('the old node rebuilt its state', () => snapshotText(old) === snapshotText(next))
  t.equal(snapshotText(nodes[2]), snapshotText(nodes[1]), 'identical state on all three')
  const records = new Map<number, { type: string, payload?: { key?: string }, term?: number }>()
  for (let from = 1; from <= last.walOffset;) {
    const page = (await call(old, 'WAL_READ', { from_offset: from, limit: 1000 })).result as { records: Array<{ sequence: number, entry: never }>, next_offset: number }
    for (const r of page.records) records.set(r.sequence, r.entry)
    from = page.next_offset
  }
  for (const [key, offset] of acked) t.equal(records.get(offset)?.payload?.key, key, `acknowledged write ${key} is at offset ${offset}`)
  const keys = [...records.values()].flatMap((e) => e.payload?.key === undefined ? [] : [e.payload.key])
  for (const [key, offset] of retried) {
    t.equal(records.get(offset)?.payload?.key, key, `retried write ${key} is at offset ${offset}`)
    t.equal(keys.filter((k) => k === key).length, 1, 'and only there')
  }
  const terms = [...records.values()].filter((e) => e.type === 'checkpoint').map((e) => e.term as number)
  t.same(terms, [...terms].sort((a, b) => a - b), 'terms only rise along the log')
  t.ok(terms.length >= 2, 'a second term began')
})

t.test('an atomic group its leader never finished is applied on no node, and the leader that finds the stream moved steps down', async (t) => {
  const nats = await natsFor(t, 3)
  const nodes = nodesFor(t)
  for (const id of ['a', 'b', 'c']) nodes.push(await startNode(nats.urls, id))
  const first = await electedLeader(nodes)
  await call(first, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  const before = await call(first, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'x' })
  await allAt(nodes, before.walOffset)

  // the first two messages of a group, as the leader would write them, and then nothing: it "crashed" mid-group
  const nc = await connect({ servers: nats.urls })
  t.teardown(() => nc.close())
  const js = jetstream(nc)
  const term = first.node.status().term
  const group = (k: number): ApplyEventEntry => ({
    type: 'apply_event', instance_id: 'x', machine: 'order', version: 1, event: 'NOTE', from_state: 'pending', to_state: 'pending', payload: { k }, ctx: { k }, ts: 1,
  })
  let last = before.walOffset
  for (const k of [1, 2]) {
    last = (await js.publish(`rstmdb.log.i.${subjectToken('x')}`, JSON.stringify(group(k)), { expect: { lastSequence: last }, headers: recordHeaders(term, true) })).seq
  }
  // the leader's next append expects the sequence it last wrote: refused, it steps down, and a term entry cuts the group
  const err = await call(first, 'APPLY_EVENT', { instance_id: 'x', event: 'NOTE', payload: { k: 9 } }).then(() => null, (e: unknown) => e)
  t.match(err, { code: 'WAL_IO_ERROR', details: { reason: 'leadership_lost' } })
  const next = await electedLeader(nodes)
  const after = await call(next, 'APPLY_EVENT', { instance_id: 'x', event: 'NOTE', payload: { k: 3 } })
  t.ok(after.walOffset > last, 'the new term starts after the cut-off group')
  await allAt(nodes, after.walOffset)
  for (const n of nodes) {
    const read = (await call(n, 'WAL_READ', { from_offset: before.walOffset + 1, limit: 100 })).result as { records: Array<{ entry: { payload?: { k?: number }, type: string } }> }
    t.same(read.records.map((r) => r.entry.payload?.k ?? r.entry.type), ['checkpoint', 3], `${n.id}: neither part of the group, nor the refused write`)
    t.same((await call(n, 'GET_INSTANCE', { instance_id: 'x' })).result.ctx, { k: 3 })
  }
  t.equal(snapshotText(nodes[1]), snapshotText(nodes[0]))
  t.equal(snapshotText(nodes[2]), snapshotText(nodes[0]))
})
