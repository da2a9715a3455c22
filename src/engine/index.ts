import type { JsonObject, WalEntry } from '../../protocol/entries.js'
import { badRequest, toRcpError } from '../../protocol/errors.js'
import { planBatch } from './batch.js'
import { validateDefinition, type ValidDefinition } from './definitions.js'
import { entryScope, IdempotencyTable, storedResult } from './idempotency.js'
import { Instances, nextRecord, restoredRecord, type InstanceEntry } from './instances.js'
import { compileMachine, Machines } from './machines.js'
import type { Plan, SeqOf, View } from './plans.js'
import { getDiagram, getInstance, getMachine, listInstances, listMachines, validateMachine } from './reads.js'
import {
  DEFAULT_ENGINE_OPTIONS,
  type Decision,
  type Engine,
  type EngineOptions,
  type IdempotencyRecord,
  type InstanceRecord,
  type MachineRecord,
  type ReadOp,
  type SnapshotLine,
  type WriteOp,
} from './types.js'
import { planApply, planCreate, planDelete, planPutMachine } from './writes.js'

export type { Engine, EngineOptions, Decision } from './types.js'

/**
 * The state machine engine: pure decisions over in-memory state (decide/read), and
 * `apply`, the one way state changes, used by the live write path and recovery alike.
 */
export function createEngine (overrides: Partial<EngineOptions> = {}): Engine {
  const options: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS, ...overrides }
  const machines = new Machines()
  const instances = new Instances()
  const idem = new IdempotencyTable({
    ttlSecs: options.idempotencyTtlSecs,
    maxKeys: options.idempotencyMaxKeys,
    warn: options.warn,
  })
  // apply reads no clock, so replicas applying the same entries reach the same state
  // (cluster.md §1): times come from the entries. Entries without `ts` (written by the
  // original server) take the time this engine was created: the recovery time of storage.md §3.
  const createdAt = options.now()
  // compiled definitions of put_machine entries this engine decided, so apply skips recompiling
  const decided = new WeakMap<object, ValidDefinition>()
  let lastSequence = 0

  const view: View = {
    instance: (id) => instances.get(id),
    pendingEntry: () => undefined,
    replay: (scope, key) => {
      const record = idem.lookup(scope, key, options.now())
      if (!record) return undefined
      return { result: () => ({ ...record.result }), offset: () => record.sequence, fingerprint: record.fingerprint }
    },
    machine: (name, version) => machines.get(name, version),
  }

  function plan (op: WriteOp, params: JsonObject): Plan & { group?: boolean } {
    const ts = options.now()
    switch (op) {
      case 'PUT_MACHINE':
        return planPutMachine(machines, params, ts, {
          maxMachineVersions: options.maxMachineVersions,
          remember: (definition, valid) => decided.set(definition, valid),
        })
      case 'CREATE_INSTANCE': return planCreate(view, params, ts)
      case 'APPLY_EVENT': return planApply(view, params, ts)
      case 'DELETE_INSTANCE': return planDelete(view, params, ts)
      case 'BATCH': return planBatch(view, params, ts, lastSequence + 1)
      default: throw badRequest(`unknown op: ${String(op)}`, { op })
    }
  }

  function decide (op: WriteOp, params: JsonObject): Decision {
    let p: Plan & { group?: boolean }
    try {
      p = plan(op, params)
    } catch (err) {
      throw toRcpError(err)
    }
    const entries = p.entries
    return {
      entries,
      group: p.group === true,
      finish: (sequences) => {
        const seqOf: SeqOf = entries.length === 1
          ? () => sequences[0]
          : (entry) => sequences[entries.indexOf(entry)]
        try {
          return p.build(seqOf)
        } catch (err) {
          throw toRcpError(err)
        }
      },
    }
  }

  function registerMachine (machine: string, version: number, definition: unknown, sequence: number): void {
    let valid = decided.get(definition as object)
    if (!valid) {
      try {
        valid = validateDefinition(definition)
      } catch (err) {
        options.warn('invalid stored machine definition skipped', { machine, version, sequence, error: toRcpError(err).message })
        return
      }
    }
    const existing = machines.get(machine, version)
    if (existing) {
      if (existing.record.checksum !== valid.checksum) {
        options.warn('conflicting machine version skipped', { machine, version, sequence })
      }
      return
    }
    machines.add(compileMachine(machine, version, valid, sequence))
  }

  function applyInstanceEntry (entry: InstanceEntry, sequence: number): void {
    const prev = instances.get(entry.instance_id)
    if (entry.type === 'create_instance' ? prev !== undefined : prev === undefined || prev.deleted) {
      options.warn(prev ? 'entry for an existing or deleted instance skipped' : 'entry for an unknown instance skipped',
        { type: entry.type, instance_id: entry.instance_id, sequence })
      return
    }
    const next = nextRecord(prev, entry, sequence, createdAt) as InstanceRecord
    instances.put(next)
    if (typeof entry.idempotency_key === 'string') {
      const scope = entryScope(entry)
      idem.add(Object.freeze({
        op: scope.op,
        scope_kind: scope.kind,
        scope: scope.target,
        key: entry.idempotency_key,
        sequence,
        ts: next.updated_at,
        result: storedResult(entry, sequence),
        ...(entry.idempotency_fingerprint === undefined ? {} : { fingerprint: entry.idempotency_fingerprint }),
      }))
    }
  }

  function apply (entry: WalEntry, sequence: number): void {
    try {
      if (sequence > lastSequence) lastSequence = sequence
      switch (entry.type) {
        case 'put_machine':
          registerMachine(entry.machine, entry.version, entry.definition, sequence)
          break
        case 'create_instance':
        case 'apply_event':
        case 'delete_instance':
          applyInstanceEntry(entry, sequence)
          break
        default:
          break
      }
    } catch (err) {
      throw toRcpError(err)
    }
  }

  function read (op: ReadOp, params: JsonObject): JsonObject {
    try {
      switch (op) {
        case 'GET_MACHINE': return getMachine(machines, params)
        case 'LIST_MACHINES': return listMachines(machines)
        case 'GET_INSTANCE': return getInstance(instances, params)
        case 'LIST_INSTANCES': return listInstances(instances, params)
        case 'VALIDATE_MACHINE': return validateMachine(params)
        case 'GET_DIAGRAM': return getDiagram(machines, params)
        default: throw badRequest(`unknown op: ${String(op)}`, { op })
      }
    } catch (err) {
      throw toRcpError(err)
    }
  }

  function snapshotLines (): Iterable<SnapshotLine> {
    // taken now; the records are immutable, so walking them later sees this moment
    const m = machines.sorted().map((c) => c.record)
    const i = instances.sortedRecords()
    const d = idem.sortedRecords()
    return lines(m, i, d)
  }

  function restore (line: SnapshotLine): void {
    try {
      switch (line.t) {
        case 'machine':
          registerMachine(line.machine, line.version, line.definition, 0)
          break
        case 'instance': {
          const record = restoredRecord(line)
          instances.put(record)
          if (record.last_wal_offset > lastSequence) lastSequence = record.last_wal_offset
          break
        }
        case 'idem': {
          const { t: _t, ...record } = line
          idem.add(Object.freeze(record))
          if (record.sequence > lastSequence) lastSequence = record.sequence
          break
        }
      }
    } catch (err) {
      throw toRcpError(err)
    }
  }

  return {
    decide,
    apply,
    read,
    getInstance: (id) => instances.get(id),
    stats: () => ({
      machines: machines.count,
      instances: instances.liveCount,
      tombstones: instances.tombstoneCount,
      idempotency: idem.size,
    }),
    snapshotLines,
    restore,
  }
}

function * lines (machines: MachineRecord[], instances: InstanceRecord[], idem: IdempotencyRecord[]): Generator<SnapshotLine> {
  for (const m of machines) yield { t: 'machine', ...m }
  for (const r of instances) yield { t: 'instance', ...r }
  for (const r of idem) yield { t: 'idem', ...r }
}
