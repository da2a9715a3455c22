import type { ApplyEventEntry } from '../../protocol/entries.js'

export interface WatchAllFilter {
  machines?: string[]
  from_states?: string[]
  to_states?: string[]
  events?: string[]
}

export type EventMatcher = (entry: ApplyEventEntry, machine: string) => boolean

const asSet = (list: string[] | undefined): Set<string> | null =>
  list !== undefined && list.length > 0 ? new Set(list) : null

/** AND across lists, OR within a list; a missing or empty list matches everything (rcp.md §6.15). */
export function compileWatchAllFilter (filter: WatchAllFilter): EventMatcher {
  const machines = asSet(filter.machines)
  const fromStates = asSet(filter.from_states)
  const toStates = asSet(filter.to_states)
  const events = asSet(filter.events)
  return (entry, machine) =>
    (machines === null || machines.has(machine)) &&
    (fromStates === null || fromStates.has(entry.from_state)) &&
    (toStates === null || toStates.has(entry.to_state)) &&
    (events === null || events.has(entry.event))
}
