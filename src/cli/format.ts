import type { JsonObject } from '../../protocol/entries.js'
import type { Style } from './style.js'

/** Human output of results (cli.md §3, §7). Each function returns the lines to print. */

const KIB = 1024
const MIB = KIB * 1024
const GIB = MIB * 1024

/** binary units, 2 decimals */
export function formatBytes (n: number): string {
  if (n >= GIB) return `${(n / GIB).toFixed(2)} GB`
  if (n >= MIB) return `${(n / MIB).toFixed(2)} MB`
  if (n >= KIB) return `${(n / KIB).toFixed(2)} KB`
  return `${n} B`
}

export const pretty = (value: unknown): string => JSON.stringify(value, null, 2)

const str = (value: unknown): string => String(value)
const obj = (value: unknown): JsonObject => (typeof value === 'object' && value !== null ? value as JsonObject : {})
const arr = (value: unknown): unknown[] => (Array.isArray(value) ? value : [])

export function formatPutMachine (r: JsonObject, s: Style): string {
  const verb = r.created === false ? s.yellow('Already exists') : s.green('Created')
  return `${verb} machine ${s.cyan(str(r.machine))} v${str(r.version)} (checksum: ${str(r.stored_checksum)})`
}

export function formatGetMachine (r: JsonObject, s: Style): string {
  return `${s.bold('Machine')} ${s.cyan(str(r.machine))} v${str(r.version)}\n${pretty(r.definition)}`
}

/** one line per machine from LIST_MACHINES, with the latest version's definition when it could be read */
export interface MachineSummary { machine: string, versions: unknown[], definition: JsonObject | null }

export function formatMachineList (machines: MachineSummary[], s: Style, empty: string): string {
  if (machines.length === 0) return s.yellow(empty)
  return machines.map(({ machine, versions, definition }) => {
    if (definition === null) return `  ${s.cyan(machine)} [versions: [${versions.join(', ')}]]`
    const states = arr(definition.states).length
    const transitions = arr(definition.transitions).length
    return `  ${s.cyan(machine)} v${str(versions[versions.length - 1])} (${s.yellow(String(states))} states, ${s.yellow(String(transitions))} transitions)`
  }).join('\n')
}

export function formatCreateInstance (r: JsonObject, machine: string, version: number, s: Style): string {
  return [
    `${s.green('Created')} instance ${s.cyan(str(r.instance_id))}`,
    `  Machine: ${machine} v${version}`,
    `  State: ${s.yellow(str(r.state))}`,
    `  WAL offset: ${str(r.wal_offset)}`,
  ].join('\n')
}

/** `at`: the --at offset the instance was asked for, if any */
export function formatGetInstance (id: string, r: JsonObject, s: Style, at?: number): string {
  return [
    `${s.bold('Instance')} ${s.cyan(id)}${at === undefined ? '' : ` as of WAL offset ${at}`}`,
    `  Machine: ${str(r.machine)} v${str(r.version)}`,
    `  State: ${s.yellow(str(r.state))}`,
    `  Context: ${pretty(r.ctx)}`,
    `  Last WAL offset: ${str(r.last_wal_offset)}`,
  ].join('\n')
}

export function formatApplyEvent (id: string, event: string, r: JsonObject, s: Style): string {
  if (r.dry_run === true) {
    return [
      `${s.yellow('Dry run')}: event ${s.cyan(event)} on ${s.cyan(id)} would apply (nothing written)`,
      `  ${str(r.from_state)} → ${s.yellow(str(r.to_state))}`,
      `  Context: ${pretty(r.ctx)}`,
    ].join('\n')
  }
  return [
    `${s.green('Applied')} event ${s.cyan(event)} on ${s.cyan(id)}`,
    `  ${str(r.from_state)} → ${s.yellow(str(r.to_state))}`,
    `  WAL offset: ${str(r.wal_offset)}`,
  ].join('\n')
}

function historyLine (item: JsonObject, s: Style): string {
  const head = `[${s.cyan(str(item.wal_offset).padStart(6))}] ${item.at === undefined ? '' : `${str(item.at)} `}${s.bold(str(item.type))}`
  if (item.type === 'CREATE_INSTANCE') return `${head} ${str(item.machine)} v${str(item.version)} state=${s.yellow(str(item.state))} ctx=${JSON.stringify(item.ctx)}`
  if (item.type === 'APPLY_EVENT') {
    const id = item.event_id === undefined ? '' : ` (event id ${str(item.event_id)})`
    return `${head} ${s.cyan(str(item.event))}${id}: ${str(item.from_state)} → ${s.yellow(str(item.to_state))} payload=${JSON.stringify(item.payload)}`
  }
  return head
}

export function formatHistory (r: JsonObject, s: Style): string {
  const items = arr(r.items).map(obj)
  const kept = r.complete === true ? 'complete' : s.yellow(`older entries no longer kept; earliest offset ${str(r.earliest_offset)}`)
  const lines = [`${s.bold('History')} of ${s.cyan(str(r.instance_id))} (${kept})`]
  if (items.length === 0) lines.push(s.yellow('  No entries'))
  for (const item of items) lines.push(`  ${historyLine(item, s)}`)
  if (r.next_offset !== null && r.next_offset !== undefined) lines.push('', `Next offset: ${str(r.next_offset)}`)
  return lines.join('\n')
}

/** `*` marks the transition APPLY_EVENT would take for its event; guards show whether they pass now */
export function formatTransitions (r: JsonObject, s: Style): string {
  const items = arr(r.transitions).map(obj)
  const header = `${s.bold('Instance')} ${s.cyan(str(r.instance_id))} in state ${s.yellow(str(r.state))} (last WAL offset ${str(r.wal_offset)})`
  if (items.length === 0) return `${header}\n  ${s.yellow('No transitions from this state')}`
  const lines = items.map(item => {
    const mark = item.taken === true ? s.green('*') : ' '
    const guard = item.guard === undefined ? '' : `  if ${str(item.guard)}: ${item.guard_passes === true ? s.green('passes') : s.red('fails')}`
    return `  ${mark} ${s.cyan(str(item.event))} → ${str(item.to)}${guard}`
  })
  return [header, ...lines].join('\n')
}

export function formatDeleteInstance (id: string, s: Style): string {
  return `${s.green('Deleted')} instance ${s.cyan(id)}`
}

function recordDetail (entry: JsonObject): string | null {
  if (entry.type === 'create_instance') {
    return `         Instance: ${str(entry.instance_id)}, Machine: ${str(entry.machine)} v${str(entry.version)}`
  }
  if (entry.type === 'apply_event') {
    return `         Instance: ${str(entry.instance_id)}, Event: ${str(entry.event)}, ${str(entry.from_state)} → ${str(entry.to_state)}`
  }
  return null
}

export function formatWalRead (r: JsonObject, s: Style): string {
  const records = arr(r.records).map(obj)
  if (records.length === 0) return s.yellow('No WAL entries')
  const lines: string[] = []
  for (const record of records) {
    const entry = obj(record.entry)
    lines.push(`[${s.cyan(str(record.sequence).padStart(6))}] ${str(record.offset).padStart(12)} | ${s.yellow(str(entry.type))}`)
    const detail = recordDetail(entry)
    if (detail !== null) lines.push(detail)
  }
  if (r.next_offset !== null && r.next_offset !== undefined) lines.push('', `Next offset: ${str(r.next_offset)}`)
  return lines.join('\n')
}

export function formatCompact (r: JsonObject, s: Style): string {
  return [
    s.green('Compaction complete'),
    `  Snapshots created: ${str(r.snapshots_created)}`,
    `  WAL segments deleted: ${str(r.segments_deleted)}`,
    `  Bytes reclaimed: ${formatBytes(Number(r.bytes_reclaimed))}`,
    '  ---',
    `  Total snapshots: ${str(r.total_snapshots)}`,
    `  WAL segments remaining: ${str(r.wal_segments)}`,
  ].join('\n')
}

export function formatUnwatch (id: string, r: JsonObject, s: Style): string {
  return r.removed === true ? `Removed subscription ${id}` : `${s.yellow('Warning')}: subscription ${id} not found`
}

/** `showing` is the header's suffix when not every row is shown, or null */
export function formatInstanceList (r: JsonObject, s: Style, showing: string | null): string {
  const rows = arr(r.instances).map(obj)
  if (rows.length === 0) return s.yellow('No instances')
  const header = `${s.bold('Instances')} (${str(r.total)} total${showing === null ? '' : `, ${showing}`})`
  return [header, ...rows.map(row => `  ${s.cyan(str(row.id))} (${str(row.machine)} v${str(row.version)}) state=${s.yellow(str(row.state))}`)].join('\n')
}

export function formatWalStats (r: JsonObject, s: Style): string {
  const io = obj(r.io_stats)
  const lines = [
    s.bold('WAL Statistics'),
    `  Entries: ${str(r.entry_count)}`,
    `  Segments: ${str(r.segment_count)}`,
    `  Size: ${formatBytes(Number(r.total_size_bytes))}`,
  ]
  if (r.latest_offset !== null && r.latest_offset !== undefined) lines.push(`  Latest offset: ${str(r.latest_offset)}`)
  lines.push(
    '',
    s.bold('I/O Statistics'),
    `  Bytes written: ${str(io.bytes_written)}`,
    `  Bytes read: ${str(io.bytes_read)}`,
    `  Writes: ${str(io.writes)}`,
    `  Reads: ${str(io.reads)}`,
    `  Fsyncs: ${str(io.fsyncs)}`
  )
  return lines.join('\n')
}

export function formatSnapshot (r: JsonObject): string {
  return `Snapshot ${str(r.snapshot_id)} of ${str(r.instance_id)} at WAL offset ${str(r.wal_offset)} (${formatBytes(Number(r.size_bytes))}, checksum: ${str(r.checksum)})`
}
