import type { JsonObject, NormalizedDefinition } from '../../protocol/entries.js'
import { renderDiagram, type DiagramFormat } from '../diagram/index.js'
import { validateDefinition } from './definitions.js'
import type { Instances } from './instances.js'
import type { Machines } from './machines.js'
import { opt } from './plans.js'
import { availableTransitions } from './transitions.js'
import type { InstanceRecord } from './types.js'
import { instanceNotFound, machineNotFound } from './writes.js'

/** The read ops of rcp.md §6.6, §6.7, §6.9, §6.10, §6.21, GET_DIAGRAM (console.md §1) and GET_TRANSITIONS (history.md §4). */

const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000

export function getMachine (machines: Machines, params: JsonObject): JsonObject {
  const machine = params.machine as string
  const version = opt<number>(params, 'version')
  const m = version === undefined ? machines.latest(machine) : machines.get(machine, version)
  if (!m) throw machineNotFound(machine, version)
  return { definition: m.record.definition, checksum: m.record.checksum, machine, version: m.record.version }
}

/** The machine as GET_MACHINE finds it, drawn; rendering is pure, so this is a read like the others. */
export function getDiagram (machines: Machines, params: JsonObject): JsonObject {
  const { definition, checksum, machine, version } = getMachine(machines, params)
  const format = params.format as DiagramFormat
  const content = renderDiagram(definition as NormalizedDefinition, { format, highlight: opt<string>(params, 'highlight') })
  return { format, content, machine, version, checksum }
}

export function listMachines (machines: Machines): JsonObject {
  return { items: machines.list() }
}

/** A live instance, or INSTANCE_NOT_FOUND (unknown or deleted). */
function liveInstance (instances: Instances, id: string): InstanceRecord {
  const r = instances.get(id)
  if (!r || r.deleted) throw instanceNotFound(id)
  return r
}

export function getInstance (instances: Instances, params: JsonObject): JsonObject {
  return instanceResult(liveInstance(instances, params.instance_id as string))
}

/** A live record as GET_INSTANCE answers it. */
export function instanceResult (r: InstanceRecord): JsonObject {
  const result: JsonObject = { instance_id: r.id, machine: r.machine, version: r.version, state: r.state, ctx: r.ctx }
  if (r.last_event_id !== null) result.last_event_id = r.last_event_id
  result.last_wal_offset = r.last_wal_offset
  result.created_at = r.created_at
  result.updated_at = r.updated_at
  return result
}

export function getTransitions (instances: Instances, machines: Machines, params: JsonObject): JsonObject {
  const r = liveInstance(instances, params.instance_id as string)
  const m = machines.get(r.machine, r.version)
  if (!m) throw machineNotFound(r.machine, r.version)
  return availableTransitions(m, r)
}

const row = (r: InstanceRecord): JsonObject => ({
  id: r.id,
  machine: r.machine,
  version: r.version,
  state: r.state,
  created_at: r.created_at,
  updated_at: r.updated_at,
  last_wal_offset: r.last_wal_offset,
})

export function listInstances (instances: Instances, params: JsonObject): JsonObject {
  const limit = Math.min(opt<number>(params, 'limit') ?? DEFAULT_LIMIT, MAX_LIMIT)
  const offset = opt<number>(params, 'offset') ?? 0
  const after = opt<string>(params, 'after')
  const ids = instances.ids(opt(params, 'machine'), opt(params, 'state'))
  const total = ids?.size ?? 0
  const start = (after !== undefined && ids ? ids.rankAfter(after) : 0) + offset
  const page = ids ? ids.slice(start, limit) : []
  const rows = page.map((id) => row(instances.get(id) as InstanceRecord))
  const hasMore = start + rows.length < total
  const result: JsonObject = { instances: rows, total, has_more: hasMore }
  if (after !== undefined) result.next_after = hasMore ? (page.length > 0 ? page[page.length - 1] : after) : null
  return result
}

export function validateMachine (params: JsonObject): JsonObject {
  const valid = validateDefinition(params.definition)
  return { valid: true, checksum: valid.checksum, normalized: valid.definition }
}
