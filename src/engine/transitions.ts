import type { JsonObject } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
import type { Candidate, CompiledMachine } from './machines.js'
import type { InstanceRecord } from './types.js'

/**
 * Choosing a transition (rcp.md §8.5), in one place: APPLY_EVENT (real or dry run) takes
 * what `chooseTransition` picks, and GET_TRANSITIONS (history.md §4) marks the same pick.
 */

/** The first candidate with no guard, or whose guard passes on the pre-merge ctx. */
function firstPassing (candidates: readonly Candidate[], ctx: JsonObject): Candidate | undefined {
  for (const c of candidates) {
    if (c.test === undefined || c.test(ctx)) return c
  }
  return undefined
}

/** The transition APPLY_EVENT takes for `event`; INVALID_TRANSITION or GUARD_FAILED when there is none. */
export function chooseTransition (machine: CompiledMachine, instance: InstanceRecord, event: string): Candidate {
  const candidates = machine.table.get(instance.state)?.get(event)
  if (!candidates) {
    throw new RcpError('INVALID_TRANSITION', `no transition for event ${event} from state ${instance.state}`,
      { instance_id: instance.id, current_state: instance.state, event })
  }
  const chosen = firstPassing(candidates, instance.ctx)
  if (!chosen) {
    throw new RcpError('GUARD_FAILED', `no guard passed for event ${event} from state ${instance.state}`,
      { instance_id: instance.id, current_state: instance.state, event, guards: candidates.map((c) => c.guard) })
  }
  return chosen
}

/** GET_TRANSITIONS: every transition from the current state, in definition order, each guard evaluated on the current ctx. */
export function availableTransitions (machine: CompiledMachine, instance: InstanceRecord): JsonObject {
  const taken = new Map<string, Candidate | undefined>()
  const transitions = (machine.byState.get(instance.state) ?? []).map((c) => {
    if (!taken.has(c.event)) {
      taken.set(c.event, firstPassing(machine.table.get(instance.state)?.get(c.event) ?? [], instance.ctx))
    }
    const item: JsonObject = { event: c.event, to: c.to }
    if (c.guard !== undefined) item.guard = c.guard
    item.guard_passes = c.test === undefined ? null : c.test(instance.ctx)
    if (c.meta !== undefined) item.meta = c.meta
    item.taken = taken.get(c.event) === c
    return item
  })
  return { instance_id: instance.id, state: instance.state, wal_offset: instance.last_wal_offset, transitions }
}
