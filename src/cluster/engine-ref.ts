import type { Engine } from '../engine/types.js'

/**
 * The node's engine behind a stable face: a node rebuilds its state into a new engine
 * after it loses leadership with writes that never committed (cluster.md §2), so the
 * dispatcher, the compactor and the bus hold this instead of an engine.
 */
export interface EngineRef {
  readonly current: Engine
  replace: (engine: Engine) => void
  /** an Engine whose every call goes to the current one */
  readonly engine: Engine
}

export function createEngineRef (initial: Engine): EngineRef {
  let current = initial
  const engine: Engine = {
    decide: (op, params) => current.decide(op, params),
    apply: (entry, sequence) => current.apply(entry, sequence),
    read: (op, params) => current.read(op, params),
    getInstance: (id) => current.getInstance(id),
    stats: () => current.stats(),
    snapshotLines: () => current.snapshotLines(),
    restore: (line) => current.restore(line),
  }
  return {
    get current () { return current },
    replace (next) { current = next },
    engine,
  }
}
