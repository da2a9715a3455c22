import { canonicalChecksum } from '../../protocol/canonical.js'
import type { NormalizedDefinition, NormalizedTransition } from '../../protocol/entries.js'
import { badRequest, type RcpError } from '../../protocol/errors.js'
import { compileGuard, type GuardFn } from './guards.js'
import { measureJson, MAX_JSON_DEPTH } from './limits.js'

/** Machine definitions (rcp.md §7): validation collecting every problem, normalization, checksum. */

export interface DefinitionProblem {
  field: string
  message: string
  [guardField: string]: unknown
}

export interface ValidDefinition {
  definition: NormalizedDefinition
  checksum: string
  /** compiled guard per transition index; undefined where the transition has none */
  guards: Array<GuardFn | undefined>
}

const MAX_NAME_BYTES = 256

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)

const isName = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && (v.length <= 85 || Buffer.byteLength(v, 'utf8') <= MAX_NAME_BYTES)

const quote = (s: string): string => JSON.stringify(s)

/** Validates and normalizes; throws BAD_REQUEST naming the first problem with every problem in details.errors. */
export function validateDefinition (input: unknown): ValidDefinition {
  const problems: DefinitionProblem[] = []
  const add: Add = (field, message, extra = {}) => { problems.push({ field, message, ...extra }) }

  if (!isObject(input)) {
    add('definition', 'definition must be an object')
    throw definitionError(problems)
  }

  const states = checkStates(input.states, add)
  const stateSet = new Set(states)

  const initial = input.initial
  if (typeof initial !== 'string') add('initial', 'initial must be a string')
  else if (states.length > 0 && !stateSet.has(initial)) add('initial', `initial state ${quote(initial)} is not in states`)

  const transitions: NormalizedTransition[] = []
  const guards: Array<GuardFn | undefined> = []
  if (!Array.isArray(input.transitions)) {
    add('transitions', 'transitions must be an array')
  } else {
    input.transitions.forEach((item: unknown, i: number) => {
      const before = problems.length
      const t = checkTransition(item, i, stateSet, states.length > 0, add)
      if (t && problems.length === before) {
        transitions.push(t.transition)
        guards.push(t.guard)
      }
    })
  }

  checkMeta(input.meta, 'meta', add)

  if (problems.length > 0) throw definitionError(problems)

  const definition: NormalizedDefinition = { states, initial: initial as string, transitions }
  if (input.meta !== undefined && input.meta !== null) definition.meta = input.meta
  return { definition, checksum: canonicalChecksum(definition), guards }
}

type Add = (field: string, message: string, extra?: Record<string, unknown>) => void

function checkStates (value: unknown, add: Add): string[] {
  if (!Array.isArray(value)) {
    add('states', 'states must be a non-empty array of strings')
    return []
  }
  if (value.length === 0) add('states', 'states must not be empty')
  const seen = new Set<string>()
  value.forEach((s: unknown, i: number) => {
    if (!isName(s)) add(`states[${i}]`, `states[${i}] must be a string of 1–256 bytes`)
    else if (seen.has(s)) add(`states[${i}]`, `duplicate state ${quote(s)}`)
    else seen.add(s)
  })
  return value.filter((s): s is string => typeof s === 'string')
}

function checkTransition (
  item: unknown, i: number, states: Set<string>, haveStates: boolean, add: Add
): { transition: NormalizedTransition, guard: GuardFn | undefined } | undefined {
  const at = `transitions[${i}]`
  if (!isObject(item)) {
    add(at, `${at} must be an object`)
    return undefined
  }
  const known = (field: string, s: string): void => {
    if (haveStates && !states.has(s)) add(field, `${field}: unknown state ${quote(s)}`)
  }

  let from: string[] = []
  if (typeof item.from === 'string') {
    known(`${at}.from`, item.from)
    from = [item.from]
  } else if (Array.isArray(item.from) && item.from.length > 0) {
    const seen = new Set<string>()
    item.from.forEach((s: unknown, j: number) => {
      const field = `${at}.from[${j}]`
      if (typeof s !== 'string') add(field, `${field} must be a string`)
      else if (seen.has(s)) add(field, `${field}: duplicate state ${quote(s)}`)
      else {
        seen.add(s)
        known(field, s)
      }
    })
    from = item.from.filter((s): s is string => typeof s === 'string')
  } else {
    add(`${at}.from`, `${at}.from must be a string or a non-empty array of strings`)
  }

  if (!isName(item.event)) add(`${at}.event`, `${at}.event must be a string of 1–256 bytes`)

  if (typeof item.to !== 'string') add(`${at}.to`, `${at}.to must be a string`)
  else known(`${at}.to`, item.to)

  let guard: GuardFn | undefined
  const source = item.guard
  if (source !== undefined && source !== null) {
    if (typeof source !== 'string') {
      add(`${at}.guard`, `${at}.guard must be a string`)
    } else {
      const compiled = compileGuard(source)
      if (compiled.ok) {
        guard = compiled.fn
      } else {
        add(`${at}.guard`, `invalid guard in ${at} "${source}": ${compiled.reason} at character ${compiled.position}`, {
          transition_index: i, guard: source, position: compiled.position, reason: compiled.reason,
        })
      }
    }
  }

  checkMeta(item.meta, `${at}.meta`, add)

  const transition: NormalizedTransition = { from, event: item.event as string, to: item.to as string }
  if (typeof source === 'string') transition.guard = source
  if (item.meta !== undefined && item.meta !== null) transition.meta = item.meta
  return { transition, guard }
}

function checkMeta (value: unknown, field: string, add: Add): void {
  if (value !== null && typeof value === 'object' && measureJson(value).depth > MAX_JSON_DEPTH) {
    add(field, `${field} nests deeper than ${MAX_JSON_DEPTH} levels`)
  }
}

function definitionError (problems: DefinitionProblem[]): RcpError {
  const first = problems[0]
  const { message, ...firstDetails } = first
  return badRequest(message, { ...firstDetails, errors: problems })
}
