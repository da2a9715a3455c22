import type { ApplyEventEntry, CreateInstanceEntry, DeleteInstanceEntry, JsonObject } from '../../protocol/entries.js'
import { SortedIds } from './sorted-ids.js'
import type { InstanceRecord } from './types.js'

/**
 * Instances by id plus ordered id indexes for LIST_INSTANCES: all live ids, by machine,
 * by state, by machine+state, and the tombstones (for snapshots). Records are immutable:
 * every change puts a new object.
 */

export type InstanceEntry = CreateInstanceEntry | ApplyEventEntry | DeleteInstanceEntry

/** The record an entry produces from the previous one (undefined for a create); `fallbackTs` stands in for a missing `ts`. */
export function nextRecord (prev: InstanceRecord | undefined, entry: InstanceEntry, sequence: number, fallbackTs: number): InstanceRecord | undefined {
  const ts = typeof entry.ts === 'number' ? entry.ts : fallbackTs
  switch (entry.type) {
    case 'create_instance':
      return record(entry.instance_id, entry.machine, entry.version, entry.initial_state, entry.initial_ctx ?? {}, null, sequence, ts, ts, false)
    case 'apply_event':
      if (!prev) return undefined
      return record(prev.id, prev.machine, prev.version, entry.to_state, entry.ctx, entry.event_id ?? null, sequence, prev.created_at, ts, false)
    case 'delete_instance':
      if (!prev) return undefined
      return record(prev.id, prev.machine, prev.version, prev.state, prev.ctx, prev.last_event_id, sequence, prev.created_at, ts, true)
  }
}

// one literal with every field, in one order: every record shares a hidden class (spreading a
// frozen record is several times slower)
function record (
  id: string, machine: string, version: number, state: string, ctx: JsonObject, lastEventId: string | null,
  lastWalOffset: number, createdAt: number, updatedAt: number, deleted: boolean
): InstanceRecord {
  return Object.freeze({
    id, machine, version, state, ctx, last_event_id: lastEventId, last_wal_offset: lastWalOffset, created_at: createdAt, updated_at: updatedAt, deleted,
  })
}

/** A record from a snapshot line, in the same shape as the ones entries produce. */
export function restoredRecord (r: InstanceRecord): InstanceRecord {
  return record(r.id, r.machine, r.version, r.state, r.ctx, r.last_event_id, r.last_wal_offset, r.created_at, r.updated_at, r.deleted)
}

interface MachineIndex {
  all: SortedIds
  byState: Map<string, SortedIds>
}

export class Instances {
  private readonly byId = new Map<string, InstanceRecord>()
  private readonly live = new SortedIds()
  private readonly tombstones = new SortedIds()
  private readonly byState = new Map<string, SortedIds>()
  private readonly byMachine = new Map<string, MachineIndex>()

  get liveCount (): number {
    return this.live.size
  }

  get tombstoneCount (): number {
    return this.tombstones.size
  }

  get (id: string): InstanceRecord | undefined {
    return this.byId.get(id)
  }

  /** Stores `next` in place of whatever record has its id, keeping every index in step. */
  put (next: InstanceRecord): void {
    const prev = this.byId.get(next.id)
    this.byId.set(next.id, next)
    if (prev && !prev.deleted) {
      if (!next.deleted && prev.machine === next.machine) {
        if (prev.state !== next.state) this.move(prev, next.state)
        return
      }
      this.unindex(prev)
    } else if (prev) {
      this.tombstones.delete(prev.id)
    }
    if (next.deleted) this.tombstones.add(next.id)
    else this.index(next)
  }

  private index (r: InstanceRecord): void {
    this.live.add(r.id)
    let m = this.byMachine.get(r.machine)
    if (!m) this.byMachine.set(r.machine, m = { all: new SortedIds(), byState: new Map() })
    m.all.add(r.id)
    idsFor(m.byState, r.state).add(r.id)
    idsFor(this.byState, r.state).add(r.id)
  }

  /** A live instance changed state: only the state indexes change. */
  private move (prev: InstanceRecord, state: string): void {
    const m = this.byMachine.get(prev.machine) as MachineIndex
    dropId(m.byState, prev.state, prev.id)
    idsFor(m.byState, state).add(prev.id)
    dropId(this.byState, prev.state, prev.id)
    idsFor(this.byState, state).add(prev.id)
  }

  private unindex (r: InstanceRecord): void {
    this.live.delete(r.id)
    const m = this.byMachine.get(r.machine)
    if (m) {
      m.all.delete(r.id)
      dropId(m.byState, r.state, r.id)
      if (m.all.size === 0) this.byMachine.delete(r.machine)
    }
    dropId(this.byState, r.state, r.id)
  }

  /** The ordered live ids matching the filters. */
  ids (machine: string | undefined, state: string | undefined): SortedIds | undefined {
    if (machine === undefined) return state === undefined ? this.live : this.byState.get(state)
    const m = this.byMachine.get(machine)
    if (!m) return undefined
    return state === undefined ? m.all : m.byState.get(state)
  }

  /** Every record, tombstones included, sorted by id: a frozen view taken now. */
  sortedRecords (): InstanceRecord[] {
    const live = this.live.toArray()
    const dead = this.tombstones.toArray()
    const out: InstanceRecord[] = new Array(live.length + dead.length)
    let i = 0
    let j = 0
    let k = 0
    while (i < live.length || j < dead.length) {
      const id = j >= dead.length || (i < live.length && live[i] < dead[j]) ? live[i++] : dead[j++]
      out[k++] = this.byId.get(id) as InstanceRecord
    }
    return out
  }
}

function idsFor (map: Map<string, SortedIds>, key: string): SortedIds {
  let ids = map.get(key)
  if (!ids) map.set(key, ids = new SortedIds())
  return ids
}

function dropId (map: Map<string, SortedIds>, key: string, id: string): void {
  const ids = map.get(key)
  if (!ids) return
  ids.delete(id)
  if (ids.size === 0) map.delete(key)
}
