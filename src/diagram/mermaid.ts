import { edgeLabelLines, wellFormed, type DiagramGraph } from './graph.js'

/**
 * Mermaid `stateDiagram-v2` (console.md §1). States are declared by id with
 * their name as a quoted description; every character of a name or label that
 * Mermaid's grammar or its HTML output could read as syntax is written as a
 * Mermaid entity code (`#34;`), so any valid name renders as itself.
 */

// letters and digits of any script, and the ASCII punctuation no Mermaid rule gives a meaning to in a label
const PLAIN = /[\p{L}\p{N}\p{M} _.,()/+*=!?@'-]/u

function escapeMermaid (text: string): string {
  let out = ''
  for (const ch of wellFormed(text)) {
    const code = ch.codePointAt(0) as number
    const plain = PLAIN.test(ch) || (code > 0x7f && !/[\p{C}\p{Z}]/u.test(ch))
    out += plain ? ch : `#${code};`
  }
  return out
}

export function renderMermaid (graph: DiagramGraph): string {
  const lines = ['stateDiagram-v2']
  for (const s of graph.states) lines.push(`    state "${escapeMermaid(s.name)}" as ${s.id}`)
  lines.push(`    [*] --> ${graph.initial}`)
  for (const e of graph.edges) {
    lines.push(`    ${e.from} --> ${e.to} : ${edgeLabelLines(e).map(escapeMermaid).join(' ')}`)
  }
  for (const s of graph.states) if (s.final) lines.push(`    ${s.id} --> [*]`)
  const highlighted = graph.states.find(s => s.highlighted)
  if (highlighted !== undefined) {
    lines.push('    classDef highlighted fill:#fde68a,stroke:#b45309,stroke-width:2px')
    lines.push(`    class ${highlighted.id} highlighted`)
  }
  return `${lines.join('\n')}\n`
}
