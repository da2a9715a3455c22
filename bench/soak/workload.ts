import type { Face, Reply } from './faces.js'
import { believedState, count, recordApply, recordCreate, violation, type Ledger } from './ledger.js'
import { pick, type Rng } from './rng.js'

/**
 * The writers' and readers' operations. Every acknowledged write goes into the ledger;
 * every answer that contradicts what the server acknowledged earlier is a violation.
 */

export const STATES = ['new', 'open', 'held']
export const INITIAL = 'new'

/** A cycle, so instances keep moving for any duration; NOTE changes only ctx. */
export const DEFINITION = {
  states: STATES,
  initial: INITIAL,
  transitions: [
    { from: 'new', event: 'NEXT', to: 'open' },
    { from: 'open', event: 'NEXT', to: 'held' },
    { from: 'held', event: 'NEXT', to: 'new', guard: 'ctx.n >= 0' },
    { from: STATES, event: 'NOTE', to: 'held' },
  ],
}

export interface Workload {
  ledger: Ledger
  machines: string[]
  /** acknowledged instance ids, for picking targets */
  pool: string[]
  newId: () => string
  /** a fresh idempotency key */
  newKey: () => string
}

let sequence = 0

/** A tenth of the writes go to the two oldest instances, which the instance watchers follow. */
function target (w: Workload, rng: Rng): string {
  return rng() < 0.1 ? w.pool[Math.floor(rng() * 2)] : pick(rng, w.pool)
}

function unexpected (w: Workload, face: Face, what: string, reply: Reply): void {
  violation(w.ledger, `${face.name} ${what}: unexpected ${reply.ok ? JSON.stringify(reply.result) : `${reply.code} ${JSON.stringify(reply.details)}`}`)
}

function ackCreate (w: Workload, machine: string, ctx: Record<string, unknown>, result: any): void {
  recordCreate(w.ledger, { instance_id: result.instance_id, machine, state: result.state, ctx, offset: result.wal_offset })
  if (!w.pool.includes(result.instance_id)) w.pool.push(result.instance_id)
}

function ackApply (w: Workload, id: string, event: string, result: any): void {
  const machine = w.ledger.creates.get(id)?.machine ?? '?'
  recordApply(w.ledger, { offset: result.wal_offset, instance_id: id, machine, event, from_state: result.from_state, to_state: result.to_state, ctx: result.ctx })
}

/** Checks that a replay of an idempotent write answered exactly the original result. */
function sameReplay (w: Workload, face: Face, what: string, first: any, again: Reply, fields: string[]): void {
  count(w.ledger, 'idempotent replays')
  if (!again.ok) return unexpected(w, face, `${what} replay`, again)
  for (const f of fields) {
    if (JSON.stringify(first[f]) !== JSON.stringify(again.result[f])) {
      violation(w.ledger, `${face.name} ${what} replay: ${f} ${JSON.stringify(again.result[f])} ≠ original ${JSON.stringify(first[f])}`)
    }
  }
}

export async function create (w: Workload, face: Face, rng: Rng): Promise<void> {
  const machine = pick(rng, w.machines)
  const id = w.newId()
  const ctx = { n: 0, origin: face.name }
  const key = rng() < 0.5 ? w.newKey() : undefined
  const params = { machine, version: 1, instance_id: id, initial_ctx: ctx, ...(key === undefined ? {} : { idempotency_key: key }) }
  const reply = await face.call('CREATE_INSTANCE', params)
  if (!reply.ok) return unexpected(w, face, 'CREATE_INSTANCE', reply)
  ackCreate(w, machine, ctx, reply.result)
  if (key !== undefined) sameReplay(w, face, 'CREATE_INSTANCE', reply.result, await face.call('CREATE_INSTANCE', params), ['instance_id', 'state', 'wal_offset'])
}

/** NEXT guarded by the state the ledger believes current: under contention, CONFLICT is a valid answer. */
export async function guardedApply (w: Workload, face: Face, rng: Rng): Promise<void> {
  const id = target(w, rng)
  const expected = believedState(w.ledger, id) ?? INITIAL
  const key = rng() < 0.3 ? w.newKey() : undefined
  const params = { instance_id: id, event: 'NEXT', payload: { n: ++sequence, by: face.name }, expected_state: expected, ...(key === undefined ? {} : { idempotency_key: key }) }
  const reply = await face.call('APPLY_EVENT', params)
  if (!reply.ok) {
    if (reply.code === 'CONFLICT' && reply.details.expected_state === expected && reply.details.actual_state !== expected) return count(w.ledger, 'conflicts (expected_state)')
    return unexpected(w, face, 'APPLY_EVENT', reply)
  }
  if (reply.result.from_state !== expected) violation(w.ledger, `${face.name} APPLY_EVENT ${id}: applied from ${String(reply.result.from_state)} despite expected_state ${expected}`)
  ackApply(w, id, 'NEXT', reply.result)
  if (key !== undefined) {
    const again = await face.call('APPLY_EVENT', params)
    sameReplay(w, face, 'APPLY_EVENT', reply.result, again, ['from_state', 'to_state', 'ctx', 'wal_offset'])
    if (again.ok && again.result.applied !== false) violation(w.ledger, `${face.name} APPLY_EVENT replay of ${id} reported applied:${String(again.result.applied)}`)
  }
}

export async function note (w: Workload, face: Face, rng: Rng): Promise<void> {
  const id = target(w, rng)
  const reply = await face.call('APPLY_EVENT', { instance_id: id, event: 'NOTE', payload: { n: ++sequence, note: `${face.name}-${sequence}` } })
  if (!reply.ok) return unexpected(w, face, 'APPLY_EVENT NOTE', reply)
  ackApply(w, id, 'NOTE', reply.result)
}

/** Two creates and an event on the first; one batch in three ends with an op that must fail. */
export async function atomicBatch (w: Workload, face: Face, rng: Rng): Promise<void> {
  const machine = pick(rng, w.machines)
  const [a, b] = [w.newId(), w.newId()]
  const ctx = { n: 0, origin: `${face.name}-atomic` }
  const failing = rng() < 1 / 3
  const ops = [
    { op: 'CREATE_INSTANCE', params: { machine, version: 1, instance_id: a, initial_ctx: ctx } },
    { op: 'CREATE_INSTANCE', params: { machine, version: 1, instance_id: b, initial_ctx: ctx } },
    { op: 'APPLY_EVENT', params: { instance_id: a, event: 'NEXT', payload: { n: ++sequence }, expected_state: INITIAL } },
    ...(failing ? [{ op: 'APPLY_EVENT', params: { instance_id: `${a}-missing`, event: 'NEXT' } }] : []),
  ]
  const reply = await face.call('BATCH', { mode: 'atomic', ops })
  if (failing) {
    if (reply.ok || reply.code !== 'INSTANCE_NOT_FOUND' || reply.details.batch_index !== 3) return unexpected(w, face, 'atomic BATCH (failing)', reply)
    w.ledger.mustNotExist.add(a)
    w.ledger.mustNotExist.add(b)
    return count(w.ledger, 'atomic batches refused')
  }
  if (!reply.ok || reply.result.results.some((r: any) => r.status !== 'ok')) return unexpected(w, face, 'atomic BATCH', reply)
  const [ra, rb, rApply] = reply.result.results.map((r: any) => r.result)
  ackCreate(w, machine, ctx, ra)
  ackCreate(w, machine, ctx, rb)
  ackApply(w, a, 'NEXT', rApply)
  count(w.ledger, 'atomic batches applied')
}

/** A guarded event, an op that must fail alone, and a create: best_effort keeps the others. */
export async function bestEffortBatch (w: Workload, face: Face, rng: Rng): Promise<void> {
  const id = target(w, rng)
  const expected = believedState(w.ledger, id) ?? INITIAL
  const machine = pick(rng, w.machines)
  const fresh = w.newId()
  const ctx = { n: 0, origin: `${face.name}-best-effort` }
  const reply = await face.call('BATCH', {
    mode: 'best_effort',
    ops: [
      { op: 'APPLY_EVENT', params: { instance_id: id, event: 'NEXT', payload: { n: ++sequence }, expected_state: expected } },
      { op: 'APPLY_EVENT', params: { instance_id: `${fresh}-missing`, event: 'NEXT' } },
      { op: 'CREATE_INSTANCE', params: { machine, version: 1, instance_id: fresh, initial_ctx: ctx } },
    ],
  })
  if (!reply.ok) return unexpected(w, face, 'best_effort BATCH', reply)
  const [first, missing, created] = reply.result.results
  if (first.status === 'ok') ackApply(w, id, 'NEXT', first.result)
  else if (first.error?.code === 'CONFLICT') count(w.ledger, 'conflicts (expected_state)')
  else unexpected(w, face, 'best_effort BATCH op 0', { ok: false, code: first.error?.code, details: first.error?.details })
  if (missing.status !== 'error' || missing.error?.code !== 'INSTANCE_NOT_FOUND') unexpected(w, face, 'best_effort BATCH op 1', { ok: true, result: missing })
  if (created.status !== 'ok') return unexpected(w, face, 'best_effort BATCH op 2', { ok: false, code: created.error?.code, details: created.error?.details })
  ackCreate(w, machine, ctx, created.result)
  count(w.ledger, 'best-effort batches')
}

export async function writeStep (w: Workload, face: Face, rng: Rng): Promise<void> {
  const r = rng()
  if (r < 0.12) return await create(w, face, rng)
  if (r < 0.55) return await guardedApply(w, face, rng)
  if (r < 0.72) return await note(w, face, rng)
  if (r < 0.86) return await atomicBatch(w, face, rng)
  return await bestEffortBatch(w, face, rng)
}

/** A read started after an acknowledgement must show that write or a later one. */
export async function readStep (w: Workload, face: Face, rng: Rng): Promise<void> {
  if (rng() < 0.7) {
    const id = pick(rng, w.pool)
    const floor = w.ledger.ackedHead.get(id) ?? 0
    const reply = await face.call('GET_INSTANCE', { instance_id: id })
    count(w.ledger, 'reads')
    if (!reply.ok) return unexpected(w, face, `GET_INSTANCE ${id}`, reply)
    if (reply.result.last_wal_offset < floor) violation(w.ledger, `${face.name} GET_INSTANCE ${id}: last_wal_offset ${String(reply.result.last_wal_offset)} below acknowledged ${floor}`)
    if (reply.result.machine !== w.ledger.creates.get(id)?.machine) violation(w.ledger, `${face.name} GET_INSTANCE ${id}: machine ${String(reply.result.machine)}`)
    return
  }
  const machine = pick(rng, w.machines)
  const reply = await face.call('LIST_INSTANCES', { machine, limit: 50 })
  count(w.ledger, 'lists')
  if (!reply.ok) return unexpected(w, face, 'LIST_INSTANCES', reply)
  const rows: any[] = reply.result.instances
  for (let i = 0; i < rows.length; i++) {
    if (rows[i].machine !== machine) violation(w.ledger, `${face.name} LIST_INSTANCES machine=${machine} returned ${String(rows[i].machine)}`)
    if (i > 0 && !(rows[i - 1].id < rows[i].id)) violation(w.ledger, `${face.name} LIST_INSTANCES rows out of id order: ${String(rows[i - 1].id)}, ${String(rows[i].id)}`)
    if (w.ledger.mustNotExist.has(rows[i].id)) violation(w.ledger, `${face.name} LIST_INSTANCES shows ${String(rows[i].id)} of a refused atomic batch`)
  }
}
