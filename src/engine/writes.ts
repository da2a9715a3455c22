import { randomUUID } from 'node:crypto'
import type { ApplyEventEntry, CreateInstanceEntry, DeleteInstanceEntry, JsonObject, PutMachineEntry } from '../../protocol/entries.js'
import { badRequest, RcpError } from '../../protocol/errors.js'
import { validateDefinition, type ValidDefinition } from './definitions.js'
import { storedResult, type Scope } from './idempotency.js'
import { checkJson, checkRecordSize, ENTRY_OVERHEAD_BOUND, measureJson } from './limits.js'
import type { Candidate, Machines } from './machines.js'
import { isPlainObject, keyed, opt, stamp, type Plan, type View } from './plans.js'

/** Deciding the single writes of rcp.md §6.5, §6.8, §6.11, §6.12 against a view of the state. */

export function instanceNotFound (id: string): RcpError {
  return new RcpError('INSTANCE_NOT_FOUND', `instance not found: ${id}`, { instance_id: id })
}

export function machineNotFound (machine: string, version: number | undefined): RcpError {
  const details: JsonObject = { machine }
  if (version !== undefined) details.version = version
  const which = version === undefined ? machine : `${machine} version ${version}`
  return new RcpError('MACHINE_NOT_FOUND', `machine not found: ${which}`, details)
}

/** An optional object param, checked for depth, with an upper bound of its JSON size. */
function objectParam (params: JsonObject, name: string): { value: JsonObject, bytes: number } | undefined {
  const value = opt<unknown>(params, name)
  if (value === undefined) return undefined
  if (!isPlainObject(value)) throw badRequest(`${name} must be an object or null`, { field: name })
  return { value, bytes: checkJson(value, name) }
}

export interface PutOptions {
  maxMachineVersions: number
  /** lets apply reuse the compiled definition of an entry this engine decided */
  remember: (definition: object, valid: ValidDefinition) => void
}

export function planPutMachine (machines: Machines, params: JsonObject, ts: number, options: PutOptions): Plan {
  const machine = params.machine as string
  const version = params.version as number
  const valid = validateDefinition(params.definition)
  const given = opt<string>(params, 'checksum')
  if (given !== undefined && given.toLowerCase() !== valid.checksum) {
    throw badRequest(`checksum mismatch: expected ${given}, actual ${valid.checksum}`, { field: 'checksum', expected: given, actual: valid.checksum })
  }
  const result = (created: boolean): JsonObject => ({ machine, version, stored_checksum: valid.checksum, created })
  const existing = machines.get(machine, version)
  if (existing) {
    if (existing.record.checksum !== valid.checksum) {
      throw new RcpError('MACHINE_VERSION_EXISTS', `machine version already exists with a different definition: ${machine} version ${version}`,
        { machine, version, stored_checksum: existing.record.checksum })
    }
    return { entries: [], bytes: 0, build: () => ({ result: result(false), walOffset: existing.sequence }) }
  }
  const versions = machines.versionCount(machine)
  if (options.maxMachineVersions > 0 && versions >= options.maxMachineVersions) {
    throw new RcpError('MACHINE_VERSION_LIMIT_EXCEEDED', `machine version limit exceeded: ${machine} has ${versions} versions (limit ${options.maxMachineVersions})`,
      { machine, limit: options.maxMachineVersions, versions })
  }
  const entry: PutMachineEntry = {
    type: 'put_machine', machine, version, definition_hash: valid.checksum, definition: valid.definition, ts,
  }
  const bytes = checkRecordSize(entry)
  options.remember(entry.definition, valid)
  return { entries: [entry], bytes, build: (seqOf) => ({ result: result(true), walOffset: seqOf(entry) }) }
}

/** A one-record write whose result is the one §9 stores for its idempotency key (create, delete). */
function storedResultPlan (entry: CreateInstanceEntry | DeleteInstanceEntry, bytes: number): Plan {
  return {
    entries: [entry],
    bytes,
    build: (seqOf) => {
      const seq = seqOf(entry)
      return { result: storedResult(entry, seq), walOffset: seq }
    },
  }
}

/** `generatedId` is a batch's pre-generated id for a create without instance_id. */
export function planCreate (view: View, params: JsonObject, ts: number, generatedId?: string): Plan {
  const machine = params.machine as string
  const version = params.version as number
  const givenId = opt<string>(params, 'instance_id')
  const initial = objectParam(params, 'initial_ctx')
  const initialCtx = initial?.value ?? {}
  const scope: Scope = givenId === undefined
    ? { op: 'CREATE_INSTANCE', kind: 'machine', target: machine }
    : { op: 'CREATE_INSTANCE', kind: 'instance', target: givenId }
  const k = keyed(view, scope, params)
  if (k?.replay !== undefined) return k.replay
  const id = givenId ?? generatedId ?? randomUUID()
  const existing = view.instance(id)
  if (existing) {
    throw new RcpError('INSTANCE_EXISTS', `instance already exists: ${id}`, { instance_id: id, deleted: existing.deleted })
  }
  const m = view.machine(machine, version)
  if (!m) throw machineNotFound(machine, version)
  // ts goes last, as in storage.md §3, after the optional fields
  const entry = {
    type: 'create_instance', instance_id: id, machine, version, initial_state: m.record.definition.initial, initial_ctx: initialCtx,
  } as CreateInstanceEntry
  stamp(entry, k)
  if (givenId === undefined) entry.instance_id_generated = true
  entry.ts = ts
  const ctxBytes = initial?.bytes ?? 2
  const bytes = checkRecordSize(entry, ENTRY_OVERHEAD_BOUND + ctxBytes)
  return storedResultPlan(entry, bytes)
}

export function planApply (view: View, params: JsonObject, ts: number): Plan {
  const id = params.instance_id as string
  const event = params.event as string
  const merge = objectParam(params, 'payload')
  const payload = merge?.value ?? null
  const eventId = opt<string>(params, 'event_id')
  const k = keyed(view, { op: 'APPLY_EVENT', kind: 'instance', target: id }, params)
  if (k?.replay !== undefined) return k.replay
  const inst = view.instance(id)
  if (!inst || inst.deleted) throw instanceNotFound(id)
  const expectedState = opt<string>(params, 'expected_state')
  if (expectedState !== undefined && expectedState !== inst.state) {
    throw new RcpError('CONFLICT', `state conflict on ${id}: expected ${expectedState}, actual ${inst.state}`,
      { instance_id: id, expected_state: expectedState, actual_state: inst.state })
  }
  const expectedOffset = opt<number>(params, 'expected_wal_offset')
  if (expectedOffset !== undefined && expectedOffset !== inst.last_wal_offset) {
    throw new RcpError('CONFLICT', `offset conflict on ${id}: expected ${expectedOffset}, actual ${inst.last_wal_offset}`,
      { instance_id: id, expected_offset: expectedOffset, actual_offset: inst.last_wal_offset })
  }
  const m = view.machine(inst.machine, inst.version)
  if (!m) throw machineNotFound(inst.machine, inst.version)
  const candidates = m.table.get(inst.state)?.get(event)
  if (!candidates) {
    throw new RcpError('INVALID_TRANSITION', `no transition for event ${event} from state ${inst.state}`,
      { instance_id: id, current_state: inst.state, event })
  }
  let chosen: Candidate | undefined
  for (const c of candidates) {
    if (c.test === undefined || c.test(inst.ctx)) {
      chosen = c
      break
    }
  }
  if (!chosen) {
    throw new RcpError('GUARD_FAILED', `no guard passed for event ${event} from state ${inst.state}`,
      { instance_id: id, current_state: inst.state, event, guards: candidates.map((c) => c.guard) })
  }
  const ctx = payload === null ? inst.ctx : { ...inst.ctx, ...payload }
  const payloadBytes = merge?.bytes ?? 4
  // the merged ctx is measured afresh: as cheap as the serialization the WAL does anyway
  const ctxBytes = measureJson(ctx).bytes
  const entry = {
    type: 'apply_event',
    instance_id: id,
    machine: inst.machine,
    version: inst.version,
    event,
    from_state: inst.state,
    to_state: chosen.to,
    payload,
    ctx,
  } as ApplyEventEntry
  if (eventId !== undefined) entry.event_id = eventId
  stamp(entry, k)
  entry.ts = ts
  const bytes = checkRecordSize(entry, ENTRY_OVERHEAD_BOUND + ctxBytes + payloadBytes)
  return {
    entries: [entry],
    bytes,
    build: (seqOf) => {
      const seq = seqOf(entry)
      const result: JsonObject = { from_state: entry.from_state, to_state: entry.to_state, ctx, wal_offset: seq, applied: true }
      if (eventId !== undefined) result.event_id = eventId
      return { result, walOffset: seq }
    },
  }
}

export function planDelete (view: View, params: JsonObject, ts: number): Plan {
  const id = params.instance_id as string
  const k = keyed(view, { op: 'DELETE_INSTANCE', kind: 'instance', target: id }, params)
  if (k?.replay !== undefined) return k.replay
  const inst = view.instance(id)
  if (!inst) throw instanceNotFound(id)
  if (inst.deleted) {
    const pending = view.pendingEntry(id)
    return {
      entries: [],
      bytes: 0,
      build: (seqOf) => {
        const offset = pending ? seqOf(pending) : inst.last_wal_offset
        return { result: { instance_id: id, deleted: true, wal_offset: offset }, walOffset: offset }
      },
    }
  }
  const entry = { type: 'delete_instance', instance_id: id } as DeleteInstanceEntry
  stamp(entry, k)
  entry.ts = ts
  const bytes = checkRecordSize(entry, ENTRY_OVERHEAD_BOUND)
  return storedResultPlan(entry, bytes)
}
