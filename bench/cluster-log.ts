/**
 * The JetStream log's raw append rate (cluster.md §2): a leader's pipelined appends with
 * Nats-Expected-Last-Sequence, committed on PubAck, against a 3-server R3 cluster and
 * one R1 server on loopback, with 1, 16 and 64 writers each waiting for its commit
 * (~300-byte records, as bench/wal.ts); then a follower catching up on what was written.
 * Run: npx tsc -p tsconfig.json && node dist/bench/cluster-log.js
 * Prints a table, then the figures as one JSON line (the last line).
 */
import { silentLogger } from '../storage/index.js'
import { connectJetStream, openJetStreamLog, TermIndex } from '../storage/jetstream/index.js'
import type { JetStreamLog } from '../storage/jetstream/index.js'
import { startNats } from '../test/support/nats.js'
import { appendLoad } from './append-load.js'

const RUN_MS = Number(process.env.RUN_MS ?? 3000)
const STREAM = 'BENCH'

async function openLog (servers: string[], replicas: number, committed: number): Promise<{ log: JetStreamLog, close: () => Promise<void> }> {
  const conn = await connectJetStream({ nats: { servers }, stream: STREAM, subjectPrefix: 'bench', replicas, leaseMs: 10_000 })
  const log = await openJetStreamLog(conn, { stream: STREAM, committed, terms: new TermIndex(), ackTimeoutMs: 10_000, logger: silentLogger })
  return { log, close: async () => { await log.close(); await conn.nc.close() } }
}

const results: Array<Record<string, number | string>> = []
console.log('replicas  writers  appends/s   p50 ms   p99 ms')
for (const replicas of [3, 1]) {
  const nats = await startNats(replicas)
  try {
    const leader = await openLog(nats.urls, replicas, 0)
    leader.log.lead({ term: 1, canDecide: () => true, onFail: (err) => { throw err } })
    await leader.log.waitFor(leader.log.append([{ type: 'checkpoint', timestamp: 1, term: 1, node_id: 'bench', ts: 1 }], false)[0])
    for (const writers of [1, 16, 64]) {
      const r = await appendLoad(leader.log, writers, RUN_MS)
      console.log(`R${replicas}`.padEnd(9) + String(writers).padStart(8) + Math.round(r.rate).toLocaleString('en-US').padStart(11) + r.p50.toFixed(3).padStart(9) + r.p99.toFixed(3).padStart(9))
      results.push({ name: 'append', replicas, writers, appends_per_sec: Math.round(r.rate), p50_ms: Number(r.p50.toFixed(3)), p99_ms: Number(r.p99.toFixed(3)) })
    }
    const head = leader.log.committedHead()
    const follower = await openLog(nats.urls, replicas, 0)
    const t0 = performance.now()
    follower.log.follow({ from: 1, term: 0, apply () {}, onGap () {} })
    await follower.log.untilCommitted(head, 120_000)
    const ms = performance.now() - t0
    const rate = Math.round(head / (ms / 1000))
    console.log(`R${replicas} follower catch-up: ${head} records in ${ms.toFixed(0)} ms = ${rate.toLocaleString('en-US')} records/s`)
    results.push({ name: 'follower_catch_up', replicas, records: head, ms: Math.round(ms), records_per_sec: rate })
    await follower.close()
    await leader.close()
  } finally {
    await nats.stop()
  }
}
console.log(JSON.stringify({ run_ms: RUN_MS, results }))
