import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { RcpError } from '../../protocol/errors.js'
import { allAt, call, natsFor, nodesFor, ORDER, roles, snapshotText, startNode, until } from './helpers.js'

/**
 * kill -9 of the NATS server that leads the stream, under load from writers on every
 * node (cluster.md §8): writes resume, no acknowledged write is lost, all nodes converge.
 */
t.test('the stream\'s leader server is killed under load: writes resume, nothing acknowledged is lost', async (t) => {
  const nats = await natsFor(t, 3)
  const nodes = nodesFor(t)
  for (const id of ['a', 'b', 'c']) nodes.push(await startNode(nats.urls, id))
  const { leader } = await roles(nodes)
  await call(leader, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await call(leader, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'x' })

  const acked = new Map<string, number>()
  const failures: RcpError[] = []
  let writing = true
  const writer = async (n: typeof leader, w: number): Promise<void> => {
    for (let k = 0; writing; k++) {
      const key = `${n.id}-${w}-${k}`
      try {
        acked.set(key, (await call(n, 'APPLY_EVENT', { instance_id: 'x', event: 'NOTE', payload: { key }, idempotency_key: key })).walOffset)
      } catch (err) {
        if (!(err instanceof RcpError)) throw err
        failures.push(err)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }
  const writers = nodes.flatMap((n) => [0, 1].map((w) => writer(n, w)))
  await until('writes flowing', () => acked.size >= 200)

  const nc = await connect({ servers: nats.urls })
  const streamLeader = (await (await jetstreamManager(nc)).streams.info('RSTMDB')).cluster?.leader
  await nc.close()
  const victim = nats.servers.find((s) => s.name === streamLeader)
  t.ok(victim, `the stream leader is ${String(streamLeader)}`)
  await victim?.kill()
  const before = acked.size
  await until('writes resume', () => acked.size >= before + 200, 60_000)
  writing = false
  await Promise.all(writers)

  for (const f of failures) t.ok(f.code === 'WAL_IO_ERROR' && f.retryable, `failed writes are retryable (${String(f.details.reason)})`)
  const { leader: now } = await roles(nodes)
  const last = await call(now, 'APPLY_EVENT', { instance_id: 'x', event: 'NOTE', payload: { key: 'last' } })
  await allAt(nodes, last.walOffset)
  const keys = new Map<number, string | undefined>()
  for (let from = 1; from <= last.walOffset;) {
    const page = (await call(now, 'WAL_READ', { from_offset: from, limit: 1000 })).result as { records: Array<{ sequence: number, entry: { payload?: { key?: string } } }>, next_offset: number }
    for (const r of page.records) keys.set(r.sequence, r.entry.payload?.key)
    from = page.next_offset
  }
  const lost = [...acked].filter(([key, offset]) => keys.get(offset) !== key)
  t.same(lost, [], `all ${acked.size} acknowledged writes are in the log at their offsets`)
  t.equal(snapshotText(nodes[1]), snapshotText(nodes[0]), 'all nodes have the same state')
  t.equal(snapshotText(nodes[2]), snapshotText(nodes[0]))
})
