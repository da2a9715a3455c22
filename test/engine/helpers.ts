import type { JsonObject, WalEntry } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
import { prng } from '../support/prng.js'
import { createEngine } from '../../src/engine/index.js'
import type { Engine, EngineOptions, WriteOp } from '../../src/engine/types.js'
import { ORDER } from '../support/machines.js'

/** An engine with a fake clock and a log standing in for the WAL: sequences are assigned here. */
export interface Harness {
  engine: Engine
  log: Array<{ entry: WalEntry, sequence: number, group: boolean }>
  clock: { now: number }
  warnings: Array<{ message: string, fields?: Record<string, unknown> }>
  write: (op: WriteOp, params: JsonObject) => { result: JsonObject, walOffset: number }
  /** the RcpError a write throws (fails the test when it does not) */
  fail: (op: WriteOp, params: JsonObject) => RcpError
  read: (op: Parameters<Engine['read']>[0], params?: JsonObject) => JsonObject
  failRead: (op: Parameters<Engine['read']>[0], params?: JsonObject) => RcpError
}

export function harness (options: Partial<EngineOptions> = {}): Harness {
  const clock = { now: 1_700_000_000_000 }
  const warnings: Harness['warnings'] = []
  const engine = createEngine({ now: () => clock.now, warn: (message, fields) => warnings.push({ message, fields }), ...options })
  const log: Harness['log'] = []
  let sequence = 0
  const write = (op: WriteOp, params: JsonObject) => {
    const d = engine.decide(op, params)
    const seqs = d.entries.map((entry) => {
      const s = ++sequence
      log.push({ entry, sequence: s, group: d.group })
      engine.apply(entry, s)
      return s
    })
    return d.finish(seqs)
  }
  const catching = (fn: () => unknown): RcpError => {
    try {
      fn()
    } catch (err) {
      if (err instanceof RcpError) return err
      throw err
    }
    throw new Error('expected an RcpError')
  }
  return {
    engine,
    log,
    clock,
    warnings,
    write,
    fail: (op, params) => catching(() => write(op, params)),
    read: (op, params = {}) => engine.read(op, params),
    failRead: (op, params = {}) => catching(() => engine.read(op, params)),
  }
}

/** A harness with machine order v1 registered. */
export function withOrder (options: Partial<EngineOptions> = {}): Harness {
  const h = harness(options)
  h.write('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  return h
}

/** Drives a harness with a seeded random workload of every write op, errors included. */
export function workload (h: Harness, seed: number, steps: number): void {
  const rnd = prng(seed)
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]
  h.write('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  h.write('PUT_MACHINE', { machine: 'order', version: 2, definition: { ...ORDER, meta: { v: 2 } } })
  h.write('PUT_MACHINE', { machine: 'ticket', version: 1, definition: { states: ['open', 'closed'], initial: 'open', transitions: [{ from: ['open', 'closed'], event: 'TOGGLE', to: 'closed', guard: 'ctx.n % 2 == 0' }, { from: 'closed', event: 'TOGGLE', to: 'open' }] } })
  const ids = Array.from({ length: 40 }, (_, i) => `id-${i}`)
  const keys = ['k1', 'k2', 'k3', undefined, undefined]
  const events = ['PAY', 'SHIP', 'CANCEL', 'TOGGLE']
  const sub = (): JsonObject => {
    const op = pick(['CREATE_INSTANCE', 'APPLY_EVENT', 'DELETE_INSTANCE'])
    const key = pick(keys)
    if (op === 'CREATE_INSTANCE') {
      return { op, params: { machine: pick(['order', 'ticket']), version: pick([1, 1, 2]), ...(rnd() < 0.8 ? { instance_id: pick(ids) } : {}), initial_ctx: { amount: Math.floor(rnd() * 3), n: Math.floor(rnd() * 4) }, ...(key ? { idempotency_key: key } : {}) } }
    }
    if (op === 'APPLY_EVENT') {
      return { op, params: { instance_id: pick(ids), event: pick(events), payload: rnd() < 0.5 ? null : { amount: Math.floor(rnd() * 3), n: Math.floor(rnd() * 4), s: 'x' }, ...(rnd() < 0.3 ? { event_id: `e-${Math.floor(rnd() * 9)}` } : {}), ...(key ? { idempotency_key: key } : {}) } }
    }
    return { op, params: { instance_id: pick(ids), ...(key ? { idempotency_key: key } : {}) } }
  }
  for (let i = 0; i < steps; i++) {
    h.clock.now += Math.floor(rnd() * 1000)
    try {
      if (rnd() < 0.1) {
        h.write('BATCH', { mode: pick(['atomic', 'best_effort']), ops: Array.from({ length: 1 + Math.floor(rnd() * 5) }, sub) })
      } else {
        const s = sub()
        h.write(s.op as 'APPLY_EVENT', s.params as JsonObject)
      }
    } catch (err) {
      if (!(err instanceof RcpError)) throw err
    }
  }
}

export { prng }
