import type { GuardFn } from './guards.js'
import type { MachineRecord } from './types.js'
import type { ValidDefinition } from './definitions.js'

/** Registered machine versions with their transition tables. */

export interface Candidate {
  readonly event: string
  readonly to: string
  readonly guard: string | undefined
  readonly test: GuardFn | undefined
  /** transition-level meta; undefined when absent */
  readonly meta: unknown
}

export interface CompiledMachine {
  readonly record: MachineRecord
  /** sequence of the put_machine record that registered it; 0 when it came from a snapshot */
  readonly sequence: number
  /** state → event → candidates in definition order (rcp.md §8.5) */
  readonly table: ReadonlyMap<string, ReadonlyMap<string, readonly Candidate[]>>
  /** state → every candidate from it, in definition order (GET_TRANSITIONS); the same objects as in `table` */
  readonly byState: ReadonlyMap<string, readonly Candidate[]>
}

export function compileMachine (machine: string, version: number, valid: ValidDefinition, sequence: number): CompiledMachine {
  const table = new Map<string, Map<string, Candidate[]>>()
  const byState = new Map<string, Candidate[]>()
  valid.definition.transitions.forEach((t, i) => {
    const candidate: Candidate = Object.freeze({ event: t.event, to: t.to, guard: t.guard, test: valid.guards[i], meta: t.meta })
    for (const from of t.from) {
      const all = byState.get(from)
      if (all) all.push(candidate)
      else byState.set(from, [candidate])
      let events = table.get(from)
      if (!events) table.set(from, events = new Map())
      const list = events.get(t.event)
      if (list) list.push(candidate)
      else events.set(t.event, [candidate])
    }
  })
  const record: MachineRecord = Object.freeze({ machine, version, definition: valid.definition, checksum: valid.checksum })
  return { record, sequence, table, byState }
}

export class Machines {
  private readonly byName = new Map<string, Map<number, CompiledMachine>>()
  private pairs = 0

  get count (): number {
    return this.pairs
  }

  get (machine: string, version: number): CompiledMachine | undefined {
    return this.byName.get(machine)?.get(version)
  }

  latest (machine: string): CompiledMachine | undefined {
    const versions = this.byName.get(machine)
    if (!versions) return undefined
    let best: CompiledMachine | undefined
    for (const m of versions.values()) if (!best || m.record.version > best.record.version) best = m
    return best
  }

  versionCount (machine: string): number {
    return this.byName.get(machine)?.size ?? 0
  }

  add (compiled: CompiledMachine): void {
    const { machine, version } = compiled.record
    let versions = this.byName.get(machine)
    if (!versions) this.byName.set(machine, versions = new Map())
    if (!versions.has(version)) this.pairs++
    versions.set(version, compiled)
  }

  /** Every version, sorted by (name, version). */
  sorted (): CompiledMachine[] {
    const out: CompiledMachine[] = []
    for (const name of [...this.byName.keys()].sort()) {
      const versions = this.byName.get(name) as Map<number, CompiledMachine>
      for (const v of [...versions.keys()].sort((a, b) => a - b)) out.push(versions.get(v) as CompiledMachine)
    }
    return out
  }

  list (): Array<{ machine: string, versions: number[] }> {
    return [...this.byName.keys()].sort().map((machine) => ({
      machine,
      versions: [...(this.byName.get(machine) as Map<number, CompiledMachine>).keys()].sort((a, b) => a - b),
    }))
  }
}
