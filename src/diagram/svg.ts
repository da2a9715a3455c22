import { graphlib, layout } from '@dagrejs/dagre'
import { edgeLabelLines, wellFormed, type DiagramEdge, type DiagramGraph, type DiagramState } from './graph.js'

/**
 * SVG laid out server-side by dagre (console.md §1). Text is set in a monospace
 * font so its width is known without font metrics; long names are shortened
 * with an ellipsis and given whole in a <title>. Every piece of user text is
 * XML-escaped, and coordinates are rounded, so the same definition always gives
 * the same bytes.
 */

const FONT_SIZE = 13
const LABEL_FONT_SIZE = 11
const CHAR_EM = 0.6
const NODE_HEIGHT = 34
const NODE_PAD_X = 14
const NODE_MIN_WIDTH = 64
const START_RADIUS = 7
const MAX_STATE_CHARS = 32
const MAX_LABEL_CHARS = 36
const LINE_HEIGHT = 14

const STYLE = [
  'svg{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}',
  '.state rect{fill:#fff;stroke:#475569;stroke-width:1.25}',
  '.state text{font-size:13px;fill:#0f172a}',
  '.state.initial rect.body{stroke:#0f766e;stroke-width:2}',
  '.state.final rect{stroke:#334155}',
  '.state.highlighted rect{fill:#fde68a;stroke:#b45309;stroke-width:2.5}',
  '.start{fill:#0f766e}',
  '.edge path{fill:none;stroke:#64748b;stroke-width:1.25}',
  '.edge .label rect{fill:#fff;fill-opacity:.9}',
  '.edge text{font-size:11px;fill:#334155}',
  '.edge text .guard{fill:#7c3aed}',
].join('')

/** Wide (East Asian full-width, emoji) characters take about one em, the rest 0.6 em. */
function textWidth (text: string, fontSize: number): number {
  let ems = 0
  for (const ch of text) ems += /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{1F000}-\u{1FAFF}\u{20000}-\u{3FFFD}]/u.test(ch) ? 1 : CHAR_EM
  return ems * fontSize
}

/** At most `max` characters (code points), ending in an ellipsis when cut; control characters as their Control Pictures (␊). */
function shorten (text: string, max: number): string {
  const chars = [...visible(text)]
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`
}

function visible (text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it replaces with their visible pictures
  return wellFormed(text).replace(/[\u0000-\u001F\u007F]/g, (ch) => String.fromCharCode(ch === '\u007F' ? 0x2421 : 0x2400 + ch.charCodeAt(0)))
}

/** XML 1.0 text and attribute values: markup and white-space characters as references (attribute values keep them), characters XML cannot hold as U+FFFD. */
export function escapeXml (text: string): string {
  return wellFormed(text)
    // eslint-disable-next-line no-control-regex -- the control characters XML 1.0 cannot hold are what it replaces
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD')
    .replace(/[&<>"'\t\n\r]/g, (ch) => `&#${ch.charCodeAt(0)};`)
}

const num = (n: number): string => String(Math.round(n * 10) / 10)

interface Point { x: number, y: number }

/** A smooth path through dagre's points: straight ends, quadratic curves through the middle points. */
function pathOf (points: Point[]): string {
  let d = `M${num(points[0].x)},${num(points[0].y)}`
  for (let i = 1; i < points.length - 1; i++) {
    const mid = { x: (points[i].x + points[i + 1].x) / 2, y: (points[i].y + points[i + 1].y) / 2 }
    const end = i === points.length - 2 ? points[i + 1] : mid
    d += ` Q${num(points[i].x)},${num(points[i].y)} ${num(end.x)},${num(end.y)}`
  }
  if (points.length === 2) d += ` L${num(points[1].x)},${num(points[1].y)}`
  return d
}

interface EdgeLabelBox { lines: string[], width: number, height: number }

function labelBox (edge: DiagramEdge): EdgeLabelBox {
  const lines = edgeLabelLines(edge).map(l => shorten(l, MAX_LABEL_CHARS))
  const width = Math.max(...lines.map(l => textWidth(l, LABEL_FONT_SIZE))) + 8
  return { lines, width, height: lines.length * LINE_HEIGHT + 4 }
}

function stateSvg (s: DiagramState, x: number, y: number, width: number): string {
  const classes = ['state', s.initial ? 'initial' : '', s.final ? 'final' : '', s.highlighted ? 'highlighted' : ''].filter(c => c !== '').join(' ')
  const left = x - width / 2
  const top = y - NODE_HEIGHT / 2
  const parts = [`<g class="${classes}" data-state="${escapeXml(s.name)}">`, `<title>${escapeXml(visible(s.name))}</title>`]
  if (s.final) parts.push(`<rect x="${num(left - 3)}" y="${num(top - 3)}" width="${num(width + 6)}" height="${NODE_HEIGHT + 6}" rx="9"/>`)
  parts.push(`<rect class="body" x="${num(left)}" y="${num(top)}" width="${num(width)}" height="${NODE_HEIGHT}" rx="6"/>`)
  parts.push(`<text x="${num(x)}" y="${num(y)}" text-anchor="middle" dominant-baseline="central">${escapeXml(shorten(s.name, MAX_STATE_CHARS))}</text>`, '</g>')
  return parts.join('')
}

/**
 * dagre leaves a self-transition's points unusable in LR layouts but reserves
 * room for its label beside the node: the loop leaves the node on the label's
 * side and passes through the label's centre.
 */
function loopPath (node: Point & { height: number }, label: Point): string {
  const side = label.y >= node.y ? 1 : -1
  const rim = node.y + side * node.height / 2
  // a cubic's midpoint lies at 1/4 of the ends plus 3/4 of the controls
  const control = (label.y - rim / 4) / 0.75
  return `M${num(node.x - 12)},${num(rim)} C${num(node.x - 40)},${num(control)} ${num(node.x + 40)},${num(control)} ${num(node.x + 12)},${num(rim)}`
}

function edgeSvg (edge: DiagramEdge, path: string, box: EdgeLabelBox, at: Point): string {
  const full = visible(edgeLabelLines(edge).join(' '))
  const top = at.y - box.height / 2
  const tspans = box.lines.map((line, i) =>
    `<tspan x="${num(at.x)}" y="${num(top + 2 + LINE_HEIGHT * (i + 0.5))}"${i > 0 ? ' class="guard"' : ''}>${escapeXml(line)}</tspan>`).join('')
  return `<g class="edge" data-event="${escapeXml(edge.event)}"><title>${escapeXml(full)}</title>` +
    `<path d="${path}" marker-end="url(#arrow)"/>` +
    `<g class="label"><rect x="${num(at.x - box.width / 2)}" y="${num(top)}" width="${num(box.width)}" height="${num(box.height)}" rx="3"/>` +
    `<text text-anchor="middle" dominant-baseline="central">${tspans}</text></g></g>`
}

/** Where dagre put everything: independent of the highlight, so one layout serves every highlighted rendering. */
export interface SvgLayout {
  width: number
  height: number
  start: Point
  startPath: string
  /** state id → centre and body width */
  states: Map<string, Point & { width: number }>
  /** edge id → path and label centre */
  edges: Map<string, { path: string, label: Point, box: EdgeLabelBox }>
}

export function layoutSvg (graph: DiagramGraph): SvgLayout {
  const g = new graphlib.Graph({ multigraph: true })
  g.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 56, edgesep: 14, marginx: 16, marginy: 16 })
  g.setDefaultEdgeLabel(() => ({}))
  const widths = new Map<string, number>()
  g.setNode('start', { width: START_RADIUS * 2, height: START_RADIUS * 2 })
  for (const s of graph.states) {
    const width = Math.max(NODE_MIN_WIDTH, textWidth(shorten(s.name, MAX_STATE_CHARS), FONT_SIZE) + 2 * NODE_PAD_X)
    widths.set(s.id, width)
    // a final state's second border takes 3 px on each side
    g.setNode(s.id, { width: width + (s.final ? 6 : 0), height: NODE_HEIGHT + (s.final ? 6 : 0) })
  }
  g.setEdge('start', graph.initial, { minlen: 1 }, 'start')
  const boxes = new Map<string, EdgeLabelBox>()
  for (const e of graph.edges) {
    const box = labelBox(e)
    boxes.set(e.id, box)
    g.setEdge(e.from, e.to, { width: box.width, height: box.height, labelpos: 'c' }, e.id)
  }
  layout(g)

  const size = g.graph()
  const at = (p: { x?: number, y?: number }): Point => ({ x: p.x ?? 0, y: p.y ?? 0 })
  const states = new Map(graph.states.map(s => [s.id, { ...at(g.node(s.id)), width: widths.get(s.id) as number }]))
  const edges = new Map(graph.edges.map(e => {
    const laid = g.edge(e.from, e.to, e.id)
    const label = at(laid)
    const path = e.from === e.to ? loopPath({ ...at(g.node(e.from)), height: NODE_HEIGHT }, label) : pathOf(laid.points ?? [])
    return [e.id, { path, label, box: boxes.get(e.id) as EdgeLabelBox }]
  }))
  return {
    width: Math.ceil(size.width ?? 0),
    height: Math.ceil(size.height ?? 0),
    start: at(g.node('start')),
    startPath: pathOf(g.edge('start', graph.initial, 'start').points ?? []),
    states,
    edges,
  }
}

/** The SVG document of a graph laid out by `layoutSvg` (for the same definition). */
export function drawSvg (graph: DiagramGraph, laid: SvgLayout): string {
  const { width, height } = laid
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="state diagram">`,
    `<style>${STYLE}</style>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker></defs>',
    `<circle class="start" cx="${num(laid.start.x)}" cy="${num(laid.start.y)}" r="${START_RADIUS}"/>`,
    `<g class="edge initial"><path d="${laid.startPath}" marker-end="url(#arrow)"/></g>`,
  ]
  for (const e of graph.edges) {
    const { path, box, label } = laid.edges.get(e.id) as { path: string, label: Point, box: EdgeLabelBox }
    out.push(edgeSvg(e, path, box, label))
  }
  for (const s of graph.states) {
    const { x, y, width: w } = laid.states.get(s.id) as Point & { width: number }
    out.push(stateSvg(s, x, y, w))
  }
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
