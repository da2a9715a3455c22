import { isDeepStrictEqual } from 'node:util'

/** What the server acknowledged, as the clients saw it: the reference every check compares against. */

export interface AckedCreate {
  instance_id: string
  machine: string
  state: string
  ctx: Record<string, unknown>
  offset: number
}

export interface AckedApply {
  offset: number
  instance_id: string
  machine: string
  event: string
  from_state: string
  to_state: string
  ctx: Record<string, unknown>
}

export interface Ledger {
  creates: Map<string, AckedCreate>
  /** by WAL offset: one record per acknowledged event, replays included only once */
  applies: Map<number, AckedApply>
  /** highest acknowledged offset per instance: a read started later must show at least this */
  ackedHead: Map<string, number>
  /** ids named only by failed atomic batches: no trace of them may exist */
  mustNotExist: Set<string>
  counts: Map<string, number>
  violations: string[]
  violationCount: number
}

const MAX_KEPT_VIOLATIONS = 50

export function createLedger (): Ledger {
  return {
    creates: new Map(),
    applies: new Map(),
    ackedHead: new Map(),
    mustNotExist: new Set(),
    counts: new Map(),
    violations: [],
    violationCount: 0,
  }
}

export function count (ledger: Ledger, key: string, n = 1): void {
  ledger.counts.set(key, (ledger.counts.get(key) ?? 0) + n)
}

export function violation (ledger: Ledger, text: string): void {
  ledger.violationCount++
  if (ledger.violations.length < MAX_KEPT_VIOLATIONS) ledger.violations.push(text)
}

function bumpHead (ledger: Ledger, id: string, offset: number): void {
  if ((ledger.ackedHead.get(id) ?? 0) < offset) ledger.ackedHead.set(id, offset)
}

export function recordCreate (ledger: Ledger, create: AckedCreate): void {
  const seen = ledger.creates.get(create.instance_id)
  if (seen !== undefined) {
    if (seen.offset !== create.offset) violation(ledger, `instance ${create.instance_id} acknowledged as created at offsets ${seen.offset} and ${create.offset}`)
    return
  }
  ledger.creates.set(create.instance_id, create)
  bumpHead(ledger, create.instance_id, create.offset)
  count(ledger, 'acked creates')
}

export function recordApply (ledger: Ledger, apply: AckedApply): void {
  const seen = ledger.applies.get(apply.offset)
  if (seen !== undefined) {
    if (!isDeepStrictEqual(seen, apply)) violation(ledger, `offset ${apply.offset} acknowledged twice with different results: ${JSON.stringify(seen)} / ${JSON.stringify(apply)}`)
    return
  }
  ledger.applies.set(apply.offset, apply)
  bumpHead(ledger, apply.instance_id, apply.offset)
  count(ledger, 'acked events')
}

/** The state an instance is in after its highest acknowledged write. */
export function believedState (ledger: Ledger, id: string): string | undefined {
  const head = ledger.ackedHead.get(id)
  if (head === undefined) return undefined
  return ledger.applies.get(head)?.to_state ?? ledger.creates.get(id)?.state
}

/** Every acknowledged event of each instance, in offset order. */
export function appliesByInstance (ledger: Ledger): Map<string, AckedApply[]> {
  const out = new Map<string, AckedApply[]>()
  for (const a of [...ledger.applies.values()].sort((x, y) => x.offset - y.offset)) {
    let list = out.get(a.instance_id)
    if (list === undefined) out.set(a.instance_id, list = [])
    list.push(a)
  }
  return out
}
