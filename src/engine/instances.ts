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

interface Indexes {
  live: SortedIds
  tombstones: SortedIds
  byState: Map<string, SortedIds>
  byMachine: Map<string, MachineIndex>
}

/**
 * A fresh table is filled by recovery (snapshot lines, then WAL replay) before anything
 * reads an index, so the indexes are built once, in bulk, when first needed (the
 * recovery report asks for the counts) instead of by a sorted insert or move per
 * record; from then on every put keeps them in step.
 */
export class Instances {
  private readonly byId = new Map<string, InstanceRecord>()
  private built: Indexes | null = null

  get liveCount (): number {
    return this.indexes().live.size
  }

  get tombstoneCount (): number {
    return this.indexes().tombstones.size
  }

  get (id: string): InstanceRecord | undefined {
    return this.byId.get(id)
  }

  /** Stores `next` in place of whatever record has its id, keeping every index in step. */
  put (next: InstanceRecord): void {
    const ix = this.built
    if (ix === null) {
      this.byId.set(next.id, next)
      return
    }
    const prev = this.byId.get(next.id)
    this.byId.set(next.id, next)
    if (prev && !prev.deleted) {
      if (!next.deleted && prev.machine === next.machine) {
        if (prev.state !== next.state) move(ix, prev, next.state)
        return
      }
      unindex(ix, prev)
    } else if (prev) {
      ix.tombstones.delete(prev.id)
    }
    if (next.deleted) ix.tombstones.add(next.id)
    else index(ix, next)
  }

  private indexes (): Indexes {
    if (this.built === null) this.built = buildIndexes(this.byId)
    return this.built
  }

  /** The ordered live ids matching the filters. */
  ids (machine: string | undefined, state: string | undefined): SortedIds | undefined {
    const ix = this.indexes()
    if (machine === undefined) return state === undefined ? ix.live : ix.byState.get(state)
    const m = ix.byMachine.get(machine)
    if (!m) return undefined
    return state === undefined ? m.all : m.byState.get(state)
  }

  /** Every record, tombstones included, sorted by id: a frozen view taken now. */
  sortedRecords (): InstanceRecord[] {
    const ix = this.indexes()
    const live = ix.live.toArray()
    const dead = ix.tombstones.toArray()
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

/** All indexes from the records at once: sort the ids, then fill each index in id order. */
function buildIndexes (byId: Map<string, InstanceRecord>): Indexes {
  const live: string[] = []
  const dead: string[] = []
  for (const r of byId.values()) (r.deleted ? dead : live).push(r.id)
  live.sort()
  dead.sort()
  const byState = new Map<string, string[]>()
  const byMachine = new Map<string, { all: string[], byState: Map<string, string[]> }>()
  for (const id of live) {
    const r = byId.get(id) as InstanceRecord
    let m = byMachine.get(r.machine)
    if (!m) byMachine.set(r.machine, m = { all: [], byState: new Map() })
    m.all.push(id)
    listFor(m.byState, r.state).push(id)
    listFor(byState, r.state).push(id)
  }
  const machines = new Map<string, MachineIndex>()
  for (const [name, m] of byMachine) machines.set(name, { all: SortedIds.fromSorted(m.all), byState: fromSortedLists(m.byState) })
  return { live: SortedIds.fromSorted(live), tombstones: SortedIds.fromSorted(dead), byState: fromSortedLists(byState), byMachine: machines }
}

function listFor (map: Map<string, string[]>, key: string): string[] {
  let list = map.get(key)
  if (!list) map.set(key, list = [])
  return list
}

function fromSortedLists (lists: Map<string, string[]>): Map<string, SortedIds> {
  const out = new Map<string, SortedIds>()
  for (const [key, ids] of lists) out.set(key, SortedIds.fromSorted(ids))
  return out
}

function index (ix: Indexes, r: InstanceRecord): void {
  ix.live.add(r.id)
  let m = ix.byMachine.get(r.machine)
  if (!m) ix.byMachine.set(r.machine, m = { all: new SortedIds(), byState: new Map() })
  m.all.add(r.id)
  idsFor(m.byState, r.state).add(r.id)
  idsFor(ix.byState, r.state).add(r.id)
}

/** A live instance changed state: only the state indexes change. */
function move (ix: Indexes, prev: InstanceRecord, state: string): void {
  const m = ix.byMachine.get(prev.machine) as MachineIndex
  dropId(m.byState, prev.state, prev.id)
  idsFor(m.byState, state).add(prev.id)
  dropId(ix.byState, prev.state, prev.id)
  idsFor(ix.byState, state).add(prev.id)
}

function unindex (ix: Indexes, r: InstanceRecord): void {
  ix.live.delete(r.id)
  const m = ix.byMachine.get(r.machine)
  if (m) {
    m.all.delete(r.id)
    dropId(m.byState, r.state, r.id)
    if (m.all.size === 0) ix.byMachine.delete(r.machine)
  }
  dropId(ix.byState, r.state, r.id)
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
