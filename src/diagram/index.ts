import type { NormalizedDefinition } from '../../protocol/entries.js'
import { sha256Hex } from '../../protocol/canonical.js'
import type { DIAGRAM_FORMATS } from '../../protocol/schemas.js'
import { renderDot } from './dot.js'
import { buildGraph } from './graph.js'
import { renderMermaid } from './mermaid.js'
import { drawSvg, layoutSvg, type SvgLayout } from './svg.js'

/** Diagrams of a machine definition (console.md §1): one graph model, three renderings. */

export type DiagramFormat = (typeof DIAGRAM_FORMATS)[number]

export interface DiagramOptions {
  format: DiagramFormat
  /** a state to mark */
  highlight?: string
}

/**
 * Layouts of the definitions drawn so far. Stored definitions are immutable
 * objects that live as long as their machine record, so the layout (the costly
 * part: about 200 ms at 100 states) is computed once per definition and shared by
 * every highlight; it goes away with the definition.
 */
const layouts = new WeakMap<NormalizedDefinition, SvgLayout>()

/** Deterministic: the same definition and options give the same text. Throws RcpError BAD_REQUEST for an unknown highlight. */
export function renderDiagram (definition: NormalizedDefinition, options: DiagramOptions): string {
  const graph = buildGraph(definition, options.highlight)
  switch (options.format) {
    case 'mermaid': return renderMermaid(graph)
    case 'dot': return renderDot(graph)
    case 'svg': {
      let laid = layouts.get(definition)
      if (laid === undefined) layouts.set(definition, laid = layoutSvg(graph))
      return drawSvg(graph, laid)
    }
  }
}

/**
 * Strong entity tag of a rendering: the definition checksum plus the options (the
 * highlight hashed, since a state name may hold any character).
 */
export function diagramEtag (checksum: string, options: DiagramOptions): string {
  const highlight = options.highlight === undefined ? '' : `.${sha256Hex(options.highlight).slice(0, 16)}`
  return `"${checksum}.${options.format}${highlight}"`
}
