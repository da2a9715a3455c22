import type { SharedEvent } from './messages.js'

export interface WatchAllFilter {
  machines?: string[]
  from_states?: string[]
  to_states?: string[]
  events?: string[]
}

export type EventMatcher = (event: SharedEvent) => boolean

const asSet = (list: string[] | undefined): Set<string> | null =>
  list !== undefined && list.length > 0 ? new Set(list) : null

/** A missing or empty list matches everything; a non-empty one only events that have that field, with a listed value. */
const allows = (set: Set<string> | null, value: string | null): boolean =>
  set === null || (value !== null && set.has(value))

/**
 * AND across lists, OR within a list (rcp.md §6.15). Lifecycle events have only some of the
 * fields: a creation has to_state (the initial state), a deletion from_state, neither an event name.
 */
export function compileWatchAllFilter (filter: WatchAllFilter): EventMatcher {
  const machines = asSet(filter.machines)
  const fromStates = asSet(filter.from_states)
  const toStates = asSet(filter.to_states)
  const events = asSet(filter.events)
  return (e) =>
    allows(machines, e.machine) &&
    allows(fromStates, e.fromState) &&
    allows(toStates, e.toState) &&
    allows(events, e.event)
}
