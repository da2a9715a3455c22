import { edgeLabelLines, wellFormed, type DiagramGraph } from './graph.js'

/**
 * Graphviz DOT (console.md §1), for `dot -Tpng`. Names only ever appear inside
 * double-quoted labels: a quote or backslash is escaped for DOT, `&`, `<`, `>` and
 * control characters become character entities (Graphviz decodes them in labels,
 * and the source stays free of markup for tools that show it), a line break
 * becomes `\n`.
 */

function escapeDot (text: string): string {
  return wellFormed(text).replace(/[\\"&<>\n\p{Cc}\u2028\u2029]/gu, (ch) => {
    switch (ch) {
      case '\\': return '\\\\'
      case '"': return '\\"'
      case '\n': return '\\n'
      case '&': return '&amp;'
      default: return `&#${ch.charCodeAt(0)};`
    }
  })
}

export function renderDot (graph: DiagramGraph): string {
  const lines = [
    'digraph machine {',
    '  rankdir=LR;',
    '  node [shape=box, style=rounded, fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
    '  start [shape=point, width=0.15, label=""];',
  ]
  for (const s of graph.states) {
    const attrs = [`label="${escapeDot(s.name)}"`]
    if (s.final) attrs.push('peripheries=2')
    if (s.highlighted) attrs.push('style="rounded,filled"', 'fillcolor="#fde68a"', 'color="#b45309"', 'penwidth=2')
    lines.push(`  ${s.id} [${attrs.join(', ')}];`)
  }
  lines.push(`  start -> ${graph.initial};`)
  for (const e of graph.edges) {
    lines.push(`  ${e.from} -> ${e.to} [label="${edgeLabelLines(e).map(escapeDot).join('\\n')}"];`)
  }
  lines.push('}')
  return `${lines.join('\n')}\n`
}
