import type { NormalizedDefinition } from '../../protocol/entries.js'

/** Names that break naive renderers: markup, quotes, escapes, separators, scripts, and the longest allowed. */
export const ODD_NAMES = [
  '<script>window.__pwned=1</script>',
  '"><img src=x onerror="window.__pwned=1">',
  'it\'s "quoted"',
  'ünïcødé 状態 🚀',
  'back\\slash \\n \\"',
  'line\nbreak\ttab',
  '#35; & &amp; ; : [x] {y} | %% -->',
  'é'.repeat(128),
]

/** One state per odd name, a chain through them with odd events and guards, and a fan-in to the last one. */
export function oddMachine (): NormalizedDefinition {
  const states = ['start', ...ODD_NAMES]
  const transitions = ODD_NAMES.map((name, i) => ({ from: [states[i]], event: `${name}!`, to: name, guard: `ctx["${i}"] != "<b>&\\""` }))
  return { states, initial: 'start', transitions }
}

/** n states in a ladder: each goes to the next two, every fifth one back to the start (cycles), the last one is final. */
export function bigMachine (n: number): NormalizedDefinition {
  const states = Array.from({ length: n }, (_, i) => `state_${String(i).padStart(3, '0')}`)
  const transitions = []
  for (let i = 0; i < n - 1; i++) {
    transitions.push({ from: [states[i]], event: `NEXT_${i}`, to: states[i + 1] })
    if (i + 2 < n) transitions.push({ from: [states[i]], event: `SKIP_${i}`, to: states[i + 2], guard: `ctx.skip == ${i}` })
    if (i % 5 === 4) transitions.push({ from: [states[i]], event: 'RESET', to: states[0] })
  }
  return { states, initial: states[0], transitions }
}

/** Mermaid entity codes back to text. */
export function unescapeMermaid (text: string): string {
  return text.replace(/#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
}

/** A DOT double-quoted label back to text. */
export function unescapeDot (text: string): string {
  return text.replace(/\\(.)|&#(\d+);|&amp;/g, (_whole, escaped: string | undefined, code: string | undefined) => {
    if (escaped !== undefined) return escaped === 'n' ? '\n' : escaped
    if (code !== undefined) return String.fromCharCode(Number(code))
    return '&'
  })
}

/** XML character references back to text. */
export function unescapeXml (text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
}

/**
 * The SVG's element structure: every tag balanced, no markup character in text or
 * attribute values, tag names limited to what the renderer draws. Throws when not.
 */
export function checkSvgStructure (svg: string): Map<string, number> {
  const allowed = new Set(['svg', 'style', 'defs', 'marker', 'path', 'g', 'title', 'rect', 'text', 'tspan', 'circle'])
  const counts = new Map<string, number>()
  const stack: string[] = []
  const tag = /<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z-]+="[^"<>]*")*)\s*(\/?)>/y
  let i = 0
  while (i < svg.length) {
    const lt = svg.indexOf('<', i)
    const text = svg.slice(i, lt < 0 ? svg.length : lt)
    if (text.includes('>')) throw new Error(`markup character in text: ${text}`)
    if (lt < 0) break
    tag.lastIndex = lt
    const m = tag.exec(svg)
    if (m === null) throw new Error(`not a well-formed tag at ${lt}: ${svg.slice(lt, lt + 80)}`)
    const [, closing, name, , selfClosing] = m
    if (!allowed.has(name)) throw new Error(`unexpected element <${name}>`)
    if (closing === '/') {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`)
    } else {
      counts.set(name, (counts.get(name) ?? 0) + 1)
      if (selfClosing !== '/') stack.push(name)
    }
    i = tag.lastIndex
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`)
  return counts
}

export interface Box { x: number, y: number, width: number, height: number, what: string }

/** Node bodies and edge label boxes of the SVG. */
export function boxesOf (svg: string): Box[] {
  const boxes: Box[] = []
  for (const m of svg.matchAll(/<g class="state[^"]*" data-state="([^"]*)">(?:<title>[^<]*<\/title>)(?:<rect [^>]*\/>)?<rect class="body" x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" height="([\d.]+)"/g)) {
    boxes.push({ what: `state ${m[1]}`, x: Number(m[2]), y: Number(m[3]), width: Number(m[4]), height: Number(m[5]) })
  }
  for (const m of svg.matchAll(/<g class="edge" data-event="([^"]*)">.*?<g class="label"><rect x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" height="([\d.]+)"/g)) {
    boxes.push({ what: `label ${m[1]}`, x: Number(m[2]), y: Number(m[3]), width: Number(m[4]), height: Number(m[5]) })
  }
  return boxes
}

export function overlaps (a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}
