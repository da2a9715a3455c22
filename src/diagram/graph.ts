import type { NormalizedDefinition } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'

/**
 * The one graph model every format is drawn from (console.md §1): a node per
 * state, an edge per (transition, from state), so a transition with several
 * `from` states fans in. Ids are positional (`s0`, `e0`): the renderers never put
 * a user-given name where their syntax expects an identifier.
 */

export interface DiagramState {
  id: string
  name: string
  initial: boolean
  /** no outgoing transition */
  final: boolean
  highlighted: boolean
}

export interface DiagramEdge {
  id: string
  from: string
  to: string
  event: string
  guard?: string
  /** index of the transition in the definition */
  transition: number
}

export interface DiagramGraph {
  states: DiagramState[]
  edges: DiagramEdge[]
  /** id of the initial state */
  initial: string
}

export function buildGraph (definition: NormalizedDefinition, highlight?: string): DiagramGraph {
  if (highlight !== undefined && !definition.states.includes(highlight)) {
    throw new RcpError('BAD_REQUEST', `highlight names no state of the machine: ${highlight}`, { field: 'highlight' })
  }
  const ids = new Map<string, string>()
  definition.states.forEach((name, i) => ids.set(name, `s${i}`))
  const idOf = (name: string): string => ids.get(name) as string
  const edges: DiagramEdge[] = []
  const hasOutgoing = new Set<string>()
  definition.transitions.forEach((t, transition) => {
    for (const from of t.from) {
      hasOutgoing.add(from)
      const edge: DiagramEdge = { id: `e${edges.length}`, from: idOf(from), to: idOf(t.to), event: t.event, transition }
      if (t.guard !== undefined) edge.guard = t.guard
      edges.push(edge)
    }
  })
  const states = definition.states.map((name) => ({
    id: idOf(name),
    name,
    initial: name === definition.initial,
    final: !hasOutgoing.has(name),
    highlighted: name === highlight,
  }))
  return { states, edges, initial: idOf(definition.initial) }
}

/** A lone UTF-16 surrogate is not text any of the formats can carry: it becomes U+FFFD. */
export function wellFormed (text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
}

/** The text an edge is labelled with: the event, and the guard in brackets when there is one. */
export function edgeLabelLines (edge: DiagramEdge): string[] {
  return edge.guard === undefined ? [edge.event] : [edge.event, `[${edge.guard}]`]
}
