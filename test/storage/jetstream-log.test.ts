import t, { type Test } from 'tap'
import type { ApplyEventEntry, JsonObject, WalEntry } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
import { silentLogger } from '../../storage/index.js'
import type { CommittedRecord } from '../../storage/index.js'
import { connectJetStream, openJetStreamLog, readStreamState, TermIndex } from '../../storage/jetstream/index.js'
import type { JetStreamConnection, JetStreamLog } from '../../storage/jetstream/index.js'
import { recordHeaders } from '../../storage/jetstream/records.js'
import { startNats } from '../support/nats.js'
import type { NatsCluster } from '../support/nats.js'

/**
 * The JetStream Log (cluster.md §2) on a real nats-server: a leader's pipelined appends,
 * a follower applying the stream, and what happens when someone else appends.
 */

const STREAM = 'RSTMDB'
const termEntry = (term: number): WalEntry => ({ type: 'checkpoint', timestamp: 1, term, node_id: `n${term}`, ts: 1 })
const note = (id: string, k: number): ApplyEventEntry => ({
  type: 'apply_event', instance_id: id, machine: 'order', version: 1, event: 'NOTE', from_state: 'pending', to_state: 'pending', payload: { k }, ctx: { k }, ts: 1,
})

interface Opened {
  conn: JetStreamConnection
  log: JetStreamLog
  /** what its commit listener saw */
  commits: CommittedRecord[]
  /** what it applied as a follower */
  applied: CommittedRecord[]
}

async function open (t: Test, nats: NatsCluster): Promise<Opened> {
  const conn = await connectJetStream({ nats: { servers: nats.urls }, stream: STREAM, subjectPrefix: 'rstmdb', replicas: 1, leaseMs: 2000 })
  const log = await openJetStreamLog(conn, { stream: STREAM, committed: 0, terms: new TermIndex(), ackTimeoutMs: 5000, logger: silentLogger })
  const commits: CommittedRecord[] = []
  log.onCommit((records) => { commits.push(...records) })
  t.teardown(async () => {
    await log.close()
    await conn.nc.close()
  })
  return { conn, log, commits, applied: [] }
}

function follow (o: Opened): void {
  o.log.follow({ from: 1, term: 0, apply: (r) => { o.applied.push(r) }, onGap: () => { throw new Error('unexpected gap') } })
}

/** a message as another writer would publish it */
async function publishRaw (o: Opened, entry: WalEntry, term: number, expect: number, cont = false): Promise<number> {
  const ack = await o.conn.resources.js.publish(o.conn.subjects.forEntry(entry), JSON.stringify(entry),
    { expect: { lastSequence: expect }, headers: recordHeaders(term, cont) })
  return ack.seq
}

const seqs = (records: CommittedRecord[]): number[] => records.map((r) => r.sequence)

t.test('pipelined appends commit in order; a follower sees the same records at the same offsets', async (t) => {
  const nats = await startNats(1)
  t.teardown(() => nats.stop())
  const leader = await open(t, nats)
  const failures: RcpError[] = []
  leader.log.lead({ term: 1, canDecide: () => true, onFail: (e) => failures.push(e) })
  const [first] = leader.log.append([termEntry(1)], false)
  await leader.log.waitFor(first)
  t.equal(leader.log.term(), 1, 'its own term entry took effect')

  const appended: number[] = []
  for (let k = 0; k < 300; k++) appended.push(...leader.log.append([note(`i-${k % 7}`, k)], false))
  appended.push(...leader.log.append([note('g', 1), note('g', 2), note('g', 3)], true))
  t.same(appended, Array.from({ length: 303 }, (_, i) => i + 2), 'numbered from the stream\'s last sequence + 1')
  t.equal(leader.log.committedHead() < 304, true, 'nothing is committed before its PubAck')
  await leader.log.waitFor(304)
  t.same(seqs(leader.commits), Array.from({ length: 304 }, (_, i) => i + 1), 'commit notices in order, gapless')
  t.same(failures, [])

  const follower = await open(t, nats)
  follow(follower)
  t.ok(await follower.log.untilCommitted(304, 10_000), 'the follower caught up')
  t.same(follower.commits, leader.commits, 'same records, same offsets')
  t.same(follower.applied, leader.commits, 'and it applied exactly those')
  t.same(await follower.log.read(1, 1000, 16 * 1024 * 1024), await leader.log.read(1, 1000, 16 * 1024 * 1024), 'reads agree')
  const page = await follower.log.read(300, 3, 16 * 1024 * 1024)
  t.same(seqs(page.records), [300, 301, 302], 'a read stops at its limit')
})

t.test('an append after someone else appended fails every waiting write with leadership_lost; the stale tail is dropped', async (t) => {
  const nats = await startNats(1)
  t.teardown(() => nats.stop())
  const old = await open(t, nats)
  const failures: RcpError[] = []
  old.log.lead({ term: 1, canDecide: () => true, onFail: (e) => failures.push(e) })
  const [a] = old.log.append([termEntry(1)], false)
  await old.log.waitFor(a)
  const [b] = old.log.append([note('x', 1)], false)
  await old.log.waitFor(b)

  // a new leader's term entry takes the next sequence
  const other = await open(t, nats)
  const t2 = await publishRaw(other, termEntry(2), 2, b)
  // the old leader, unaware, pipelines three appends: the first expects b and is refused, but the
  // next two expect the sequences before them, which the term entry and the second now hold
  const sequences = old.log.append([note('x', 2)], false).concat(old.log.append([note('x', 3)], false), old.log.append([note('x', 4)], false))
  t.same(sequences, [t2, t2 + 1, t2 + 2])
  const outcomes = await Promise.allSettled(sequences.map((s) => old.log.waitFor(s)))
  for (const o of outcomes) {
    t.equal(o.status, 'rejected')
    const err = (o as PromiseRejectedResult).reason
    t.ok(err instanceof RcpError && err.code === 'WAL_IO_ERROR' && err.retryable && err.details.reason === 'leadership_lost', 'WAL_IO_ERROR leadership_lost, retryable')
  }
  t.equal(failures.length, 1, 'the leader is told once')
  t.throws(() => old.log.append([note('x', 5)], false), { code: 'WAL_IO_ERROR', details: { reason: 'leadership_lost' } }, 'and takes no more appends')
  t.equal(old.log.resign(failures[0]), true, 'its state ran ahead of the log: rebuild')
  t.same(seqs(old.commits), [a, b], 'nothing it was refused was ever committed')

  const state = await readStreamState(other.conn.resources.jsm, STREAM)
  t.equal(state.last, t2 + 2, 'the stale tail did land in the stream')
  follow(other)
  t.ok(await other.log.untilCommitted(t2 + 2, 10_000))
  t.same(seqs(other.applied), [a, b, t2], 'a follower drops the old term\'s tail')
  t.same(seqs((await other.log.read(1, 100, 1 << 20)).records), [a, b, t2], 'and so does reading')
  t.same(seqs((await other.log.read(t2 + 1, 100, 1 << 20)).records), [], 'also when the read starts inside the tail')
  t.equal(other.log.term(), 2)
})

t.test('an atomic group cut off by a term entry is never applied, in part or whole', async (t) => {
  const nats = await startNats(1)
  t.teardown(() => nats.stop())
  const w = await open(t, nats)
  const s1 = await publishRaw(w, termEntry(1), 1, 0)
  const g1 = await publishRaw(w, note('g', 1), 1, s1, true)
  const g2 = await publishRaw(w, note('g', 2), 1, g1, true)
  const s2 = await publishRaw(w, termEntry(2), 2, g2)
  await publishRaw(w, note('g', 3), 1, s2)
  const ok1 = await publishRaw(w, note('h', 1), 2, s2 + 1, true)
  const ok2 = await publishRaw(w, note('h', 2), 2, ok1)
  const open1 = await publishRaw(w, note('k', 1), 2, ok2, true)

  follow(w)
  t.ok(await w.log.untilSeen(open1, 10_000))
  t.same(seqs(w.applied), [s1, s2, ok1, ok2], 'the cut group is gone; the complete one applied whole')
  t.equal(w.log.committedHead(), ok2, 'a group still open at the end is not committed')
  t.same(seqs((await w.log.read(1, 100, 1 << 20)).records), [s1, s2, ok1, ok2])
  t.same(seqs((await w.log.read(1, 3, 1 << 20)).records), [s1, s2, ok1], 'a limit inside a group')
  t.same(seqs((await w.log.read(ok2, 10, 1 << 20)).records), [ok2], 'a read from inside a group returns its rest')
})

t.test('a record larger than the servers take is refused before anything is numbered', async (t) => {
  const nats = await startNats(1)
  t.teardown(() => nats.stop())
  const leader = await open(t, nats)
  leader.log.lead({ term: 1, canDecide: () => true, onFail: () => {} })
  const big: JsonObject = { blob: 'x'.repeat(leader.conn.maxPayload) }
  t.throws(() => leader.log.append([note('a', 1), { ...note('a', 2), ctx: big }], false),
    { code: 'BAD_REQUEST', details: { reason: 'record_too_large' } })
  t.equal(leader.log.appendedHead(), 0, 'nothing numbered')
  t.same(leader.log.append([termEntry(1)], false), [1], 'the next append gets the next sequence')
})

t.test('once the lease has lapsed, appends are refused and the leader is told', async (t) => {
  const nats = await startNats(1)
  t.teardown(() => nats.stop())
  const leader = await open(t, nats)
  let valid = true
  const failures: RcpError[] = []
  leader.log.lead({ term: 1, canDecide: () => valid, onFail: (e) => failures.push(e) })
  await leader.log.waitFor(leader.log.append([termEntry(1)], false)[0])
  valid = false
  t.throws(() => leader.log.append([note('a', 1)], false), { code: 'WAL_IO_ERROR', details: { reason: 'leadership_lost' } })
  t.equal(failures.length, 1)
  t.equal(leader.log.resign(failures[0]), false, 'nothing ran ahead: no rebuild needed')
})
