import type { WalEntry } from '../../protocol/entries.js'
import type { SharedEvent } from './messages.js'

/** What the bus knows of an instance now (a deleted one keeps its last state as a tombstone). */
export type InstanceLookup = (id: string) => { machine: string, version: number, state: string, last_wal_offset: number, deleted: boolean } | undefined

/**
 * The event a committed entry makes, or null: apply_event is a transition, create_instance
 * and delete_instance are lifecycle events (history.md §6a); other entries make none.
 */
export function sharedEventOf (sequence: number, entry: WalEntry, lookup: InstanceLookup): SharedEvent | null {
  switch (entry.type) {
    case 'apply_event': {
      let { machine, version } = entry
      if (machine === undefined || version === undefined) {
        // entries written by older servers may lack them
        const instance = lookup(entry.instance_id)
        machine = instance?.machine ?? ''
        version = instance?.version ?? 0
      }
      return {
        offset: sequence,
        kind: 'transition',
        instanceId: entry.instance_id,
        machine,
        version,
        fromState: entry.from_state,
        toState: entry.to_state,
        event: entry.event,
        payload: entry.payload ?? null,
        ctx: entry.ctx,
        ts: entry.ts,
      }
    }
    case 'create_instance':
      return {
        offset: sequence,
        kind: 'created',
        instanceId: entry.instance_id,
        machine: entry.machine,
        version: entry.version,
        fromState: null,
        toState: entry.initial_state,
        event: null,
        payload: null,
        ctx: entry.initial_ctx ?? {},
        ts: entry.ts,
      }
    case 'delete_instance': {
      // a delete is final, so the tombstone still holds the machine and the state it was deleted in
      const instance = lookup(entry.instance_id)
      if (instance === undefined) return null
      return {
        offset: sequence,
        kind: 'deleted',
        instanceId: entry.instance_id,
        machine: instance.machine,
        version: instance.version,
        fromState: instance.state,
        toState: null,
        event: null,
        payload: null,
        ctx: null,
        ts: entry.ts,
      }
    }
    default:
      return null
  }
}
