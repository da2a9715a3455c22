import type { JsonObject, WalEntry } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
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

export { prng } from '../support/prng.js'
