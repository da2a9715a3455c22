import { isDeepStrictEqual } from 'node:util'
import type { Face } from './faces.js'
import { appliesByInstance, count, violation, type AckedApply, type Ledger } from './ledger.js'
import type { WalTail } from './wal-tail.js'
import { matches, type Watcher } from './watchers.js'

/** The end-of-run checks. Each finding goes into the ledger's violations. */

const within = (ranges: Array<[number, number]>, offset: number): boolean => ranges.some(([a, b]) => offset >= a && offset <= b)

/** In batches, so thousands of GETs do not open thousands of requests at once. */
async function getAll (face: Face, ids: string[]): Promise<Map<string, any>> {
  const out = new Map<string, any>()
  for (let i = 0; i < ids.length; i += 200) {
    const slice = ids.slice(i, i + 200)
    const replies = await Promise.all(slice.map(async id => await face.call('GET_INSTANCE', { instance_id: id })))
    slice.forEach((id, k) => out.set(id, replies[k]))
  }
  return out
}

/** Every acknowledged write is visible with the exact final state, ctx and offset; histories chain. */
export async function checkFinalState (ledger: Ledger, face: Face): Promise<void> {
  const byInstance = appliesByInstance(ledger)
  const replies = await getAll(face, [...ledger.creates.keys()])
  for (const [id, created] of ledger.creates) {
    const history = byInstance.get(id) ?? []
    let state = created.state
    for (const a of history) {
      if (a.from_state !== state) violation(ledger, `${id}: event at ${a.offset} acknowledged from ${a.from_state}, but the acknowledged history left it in ${state}`)
      state = a.to_state
    }
    const last = history[history.length - 1]
    const want = { state, ctx: last?.ctx ?? created.ctx, last_wal_offset: last?.offset ?? created.offset }
    const reply = replies.get(id)
    if (!reply.ok) {
      violation(ledger, `${id}: acknowledged but GET_INSTANCE answers ${String(reply.code)}`)
      continue
    }
    const got = { state: reply.result.state, ctx: reply.result.ctx, last_wal_offset: reply.result.last_wal_offset }
    if (!isDeepStrictEqual(got, want)) violation(ledger, `${id}: final ${JSON.stringify(got)} ≠ acknowledged ${JSON.stringify(want)}`)
    count(ledger, 'instances verified')
  }
}

/** Ids of refused atomic batches exist nowhere: not in memory, not in the WAL. */
export async function checkRefusedBatches (ledger: Ledger, face: Face, tail: WalTail): Promise<void> {
  const ids = [...ledger.mustNotExist]
  const replies = await getAll(face, ids)
  for (const id of ids) {
    const reply = replies.get(id)
    if (reply.ok || reply.code !== 'INSTANCE_NOT_FOUND') violation(ledger, `${id} of a refused atomic batch: GET_INSTANCE answers ${reply.ok ? 'ok' : String(reply.code)}`)
  }
  for (const [offset, entry] of tail.records) {
    if (ledger.mustNotExist.has(entry.instance_id)) violation(ledger, `WAL offset ${offset} holds ${String(entry.type)} of ${String(entry.instance_id)} from a refused atomic batch`)
  }
}

/** The WAL holds exactly the acknowledged writes of the run's machines, with the acknowledged content. */
export function checkWal (ledger: Ledger, tail: WalTail): void {
  for (const a of ledger.applies.values()) {
    if (within(tail.missed, a.offset)) continue
    const e = tail.records.get(a.offset)
    if (e?.type !== 'apply_event' || e.instance_id !== a.instance_id || e.event !== a.event ||
        e.from_state !== a.from_state || e.to_state !== a.to_state || !isDeepStrictEqual(e.ctx, a.ctx)) {
      violation(ledger, `WAL offset ${a.offset}: ${JSON.stringify(e ?? null)} ≠ acknowledged event ${JSON.stringify(a)}`)
    }
  }
  for (const c of ledger.creates.values()) {
    if (within(tail.missed, c.offset)) continue
    const e = tail.records.get(c.offset)
    if (e?.type !== 'create_instance' || e.instance_id !== c.instance_id) violation(ledger, `WAL offset ${c.offset}: ${JSON.stringify(e ?? null)} ≠ acknowledged create of ${c.instance_id}`)
  }
  for (const [offset, e] of tail.records) {
    const acked = e.type === 'apply_event' ? ledger.applies.has(offset) : ledger.creates.get(e.instance_id)?.offset === offset
    if (!acked) violation(ledger, `WAL offset ${offset}: ${String(e.type)} of ${String(e.instance_id)} was never acknowledged`)
  }
}

export interface WatcherSummary {
  name: string
  face: string
  expected: number
  received: number
  sessions: number
  overflows: number
  compacted_gaps: number
}

/** Each watcher got every matching acknowledged event at or after `from`, once, in offset order. */
export function checkWatcher (ledger: Ledger, w: Watcher, from: number): WatcherSummary {
  const name = w.spec.name
  for (const e of w.errors) violation(ledger, `watcher ${name}: ${e}`)
  const expected = [...ledger.applies.values()]
    .filter(a => a.offset >= from && !within(w.gaps, a.offset) && matches(w.spec, a))
    .sort((x, y) => x.offset - y.offset)
  let previous = 0
  for (const r of w.received) {
    if (r.offset <= previous) violation(ledger, `watcher ${name}: offset ${r.offset} after ${previous} (duplicate or out of order)`)
    previous = Math.max(previous, r.offset)
    const a: AckedApply | undefined = ledger.applies.get(r.offset)
    if (a === undefined || !matches(w.spec, a)) {
      violation(ledger, `watcher ${name}: event at ${r.offset} (${r.instance_id} ${r.event}) is not a matching acknowledged event`)
      continue
    }
    const fields = { instance_id: a.instance_id, machine: a.machine, event: a.event, from_state: a.from_state, to_state: a.to_state, ...(w.spec.include_ctx ? { ctx: a.ctx } : {}) }
    const { offset: _offset, ...got } = r
    if (!isDeepStrictEqual(got, fields)) violation(ledger, `watcher ${name}: event at ${r.offset} ${JSON.stringify(got)} ≠ acknowledged ${JSON.stringify(fields)}`)
  }
  const seen = new Set(w.received.map(r => r.offset))
  const missing = expected.filter(a => !seen.has(a.offset))
  if (missing.length > 0) violation(ledger, `watcher ${name}: ${missing.length} matching events never arrived, first at offset ${missing[0].offset}`)
  return { name, face: w.spec.face, expected: expected.length, received: w.received.length, sessions: w.sessions, overflows: w.overflows, compacted_gaps: w.gaps.length }
}
