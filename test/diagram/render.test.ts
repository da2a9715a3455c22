import t from 'tap'
import { RcpError } from '../../protocol/errors.js'
import { diagramEtag, renderDiagram } from '../../src/diagram/index.js'
import { ORDER } from '../support/machines.js'
import { bigMachine, boxesOf, checkSvgStructure, ODD_NAMES, oddMachine, overlaps, unescapeDot, unescapeMermaid, unescapeXml } from './helpers.js'

const order = { ...ORDER, transitions: ORDER.transitions.map(tr => ({ ...tr, from: typeof tr.from === 'string' ? [tr.from] : tr.from })) }
const odd = oddMachine()

t.test('mermaid: odd names come back whole from the entity codes, and never break a line or a quote', async t => {
  const text = renderDiagram(odd, { format: 'mermaid' })
  const lines = text.trimEnd().split('\n')
  t.equal(lines[0], 'stateDiagram-v2')
  const declared = lines.filter(l => l.startsWith('    state '))
  t.equal(declared.length, odd.states.length, 'one line per state: no name broke a line')
  for (const [i, line] of declared.entries()) {
    const m = /^ {4}state "([^"<>\\\n]*)" as (s\d+)$/.exec(line)
    t.ok(m, `state line is well-formed: ${line}`)
    t.equal(unescapeMermaid(m?.[1] ?? ''), odd.states[i])
    t.equal(m?.[2], `s${i}`)
  }
  const edges = lines.filter(l => / : /.test(l))
  t.equal(edges.length, odd.transitions.length)
  for (const [i, line] of edges.entries()) {
    const m = /^ {4}(s\d+) --> (s\d+) : ([^"<>\\]*)$/.exec(line)
    t.ok(m, `transition line is well-formed: ${line}`)
    t.equal(unescapeMermaid(m?.[3] ?? ''), `${ODD_NAMES[i]}! [${odd.transitions[i].guard ?? ''}]`, 'event then guard')
  }
  t.notMatch(text, /%%/, 'no comment marker')
})

t.test('dot: odd names survive the quoting', async t => {
  const text = renderDiagram(odd, { format: 'dot' })
  const labels = [...text.matchAll(/label="((?:[^"\\\n]|\\.)*)"/g)].map(m => unescapeDot(m[1]))
  t.same(labels.slice(1, 1 + odd.states.length), odd.states, 'state labels, after the empty start point label')
  t.same(labels.slice(1 + odd.states.length), odd.transitions.map(tr => `${tr.event}\n[${tr.guard ?? ''}]`), 'edge labels: event, line break, guard')
  const statements = text.split('\n').filter(l => l.startsWith('  '))
  for (const line of statements) t.match(line, /;$/, `one statement per line: ${line.slice(0, 40)}`)
})

t.test('svg: odd names are escaped text, never markup', async t => {
  const svg = renderDiagram(odd, { format: 'svg' })
  const counts = checkSvgStructure(svg)
  t.equal(counts.get('script'), undefined)
  t.notMatch(svg, /<img|<script/i, 'the markup in names is text')
  const names = [...svg.matchAll(/data-state="([^"]*)"/g)].map(m => unescapeXml(m[1]))
  t.same(names, odd.states, 'every state name, in order, in its data attribute')
  const events = [...svg.matchAll(/data-event="([^"]*)"/g)].map(m => unescapeXml(m[1]))
  t.same(events, odd.transitions.map(tr => tr.event))
  const titles = [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map(m => unescapeXml(m[1]))
  t.ok(titles.includes('ünïcødé 状態 🚀'), 'unicode kept as is')
  t.ok(titles.includes('é'.repeat(128)), 'the 256-byte name whole in its tooltip')
  t.ok(titles.includes('line␊break␉tab'), 'control characters shown as their pictures')
  t.match(svg, /é{31}…</, 'long names shortened with an ellipsis on the drawing')
})

t.test('lone surrogates and characters XML cannot hold become U+FFFD', async t => {
  const def = { states: ['a\uD800b', 'c\u0001d'], initial: 'a\uD800b', transitions: [{ from: ['a\uD800b'], event: 'E\uFFFE', to: 'c\u0001d' }] }
  for (const format of ['svg', 'mermaid', 'dot'] as const) {
    const text = renderDiagram(def, { format })
    t.notOk(/[\uD800-\uDFFF]/.test(text), `${format}: no surrogate left`)
    t.ok(Buffer.from(text, 'utf8').toString('utf8') === text, `${format}: valid UTF-8 round trip`)
  }
  const svg = renderDiagram(def, { format: 'svg' })
  checkSvgStructure(svg)
  t.notOk(svg.includes('\u0001') || svg.includes('\uFFFE'))
})

t.test('fan-in: one edge per from state, each labelled', async t => {
  const svg = renderDiagram(order, { format: 'svg' })
  t.equal([...svg.matchAll(/data-event="CANCEL"/g)].length, 2, 'CANCEL from pending and from paid')
  t.equal([...svg.matchAll(/data-event="NOTE"/g)].length, 3)
  const mermaid = renderDiagram(order, { format: 'mermaid' })
  t.ok(mermaid.includes('    s0 --> s3 : CANCEL\n') && mermaid.includes('    s1 --> s3 : CANCEL\n'))
  const dot = renderDiagram(order, { format: 'dot' })
  t.ok(dot.includes('  s0 -> s3 [label="CANCEL"];') && dot.includes('  s1 -> s3 [label="CANCEL"];'))
  t.ok(dot.includes('  s0 -> s0 [label="NOTE"];'), 'a self-transition')
})

t.test('guards label their edge', async t => {
  t.ok(renderDiagram(order, { format: 'mermaid' }).includes('    s0 --> s1 : PAY #91;ctx.amount #62; 0#93;\n'))
  t.ok(renderDiagram(order, { format: 'dot' }).includes('  s0 -> s1 [label="PAY\\n[ctx.amount &#62; 0]"];'))
  const svg = renderDiagram(order, { format: 'svg' })
  t.match(svg, /data-event="PAY">.*<tspan [^>]*>PAY<\/tspan><tspan [^>]* class="guard">\[ctx.amount &#62; 0\]<\/tspan>/)
  t.notMatch(svg, /data-event="SHIP">[^\n]*class="guard"/, 'no guard line without a guard')
})

t.test('initial and final states are marked', async t => {
  const svg = renderDiagram(order, { format: 'svg' })
  t.match(svg, /<g class="state initial" data-state="pending">/)
  t.match(svg, /<g class="state final" data-state="cancelled">/)
  t.match(svg, /<g class="state" data-state="paid">/)
  t.match(svg, /<circle class="start"/)
  const mermaid = renderDiagram(order, { format: 'mermaid' })
  t.ok(mermaid.includes('    [*] --> s0\n'))
  t.ok(mermaid.includes('    s3 --> [*]\n'))
  t.notOk(mermaid.includes('    s2 --> [*]\n'), 'shipped has a way out (NOTE)')
  const dot = renderDiagram(order, { format: 'dot' })
  t.ok(dot.includes('  start -> s0;'))
  t.ok(dot.includes('  s3 [label="cancelled", peripheries=2];'))
})

t.test('highlight marks one state; an unknown one is a BAD_REQUEST', async t => {
  const svg = renderDiagram(order, { format: 'svg', highlight: 'paid' })
  t.equal([...svg.matchAll(/highlighted"/g)].length, 1)
  t.match(svg, /<g class="state highlighted" data-state="paid">/)
  t.ok(renderDiagram(order, { format: 'mermaid', highlight: 'paid' }).includes('    class s1 highlighted\n'))
  t.match(renderDiagram(order, { format: 'dot', highlight: 'paid' }), /s1 \[label="paid", style="rounded,filled", fillcolor="#fde68a"/)
  t.notMatch(renderDiagram(order, { format: 'svg' }), /highlighted"/)
  const oddSvg = renderDiagram(odd, { format: 'svg', highlight: ODD_NAMES[1] })
  t.match(oddSvg, /<g class="state highlighted" data-state="&#34;&#62;&#60;img/)
  t.throws(() => renderDiagram(order, { format: 'svg', highlight: 'nope' }), new RcpError('BAD_REQUEST', 'highlight names no state of the machine: nope', { field: 'highlight' }))
})

t.test('deterministic: the same input gives the same bytes; the ETag follows checksum and options', async t => {
  for (const format of ['svg', 'mermaid', 'dot'] as const) {
    const a = renderDiagram(bigMachine(30), { format, highlight: 'state_007' })
    const b = renderDiagram(structuredClone(bigMachine(30)), { format, highlight: 'state_007' })
    t.equal(a, b, format)
  }
  const stored = bigMachine(12)
  renderDiagram(stored, { format: 'svg', highlight: 'state_001' })
  t.equal(renderDiagram(stored, { format: 'svg', highlight: 'state_002' }), renderDiagram(bigMachine(12), { format: 'svg', highlight: 'state_002' }),
    'a definition drawn before (its layout reused) gives the bytes of a fresh one')
  const tags = new Set([
    diagramEtag('abc', { format: 'svg' }),
    diagramEtag('abc', { format: 'mermaid' }),
    diagramEtag('abc', { format: 'svg', highlight: 'paid' }),
    diagramEtag('abc', { format: 'svg', highlight: 'shipped' }),
    diagramEtag('abd', { format: 'svg' }),
  ])
  t.equal(tags.size, 5, 'each input its own tag')
  t.equal(diagramEtag('abc', { format: 'svg', highlight: '"\n' }), diagramEtag('abc', { format: 'svg', highlight: '"\n' }))
  for (const tag of tags) t.match(tag, /^"[\x21\x23-\x7e]+"$/, 'a strong entity tag of allowed characters')
})

t.test('a 100-state machine: every state and transition drawn, nothing overlapping', async t => {
  const def = bigMachine(100)
  const svg = renderDiagram(def, { format: 'svg' })
  checkSvgStructure(svg)
  t.equal([...svg.matchAll(/<g class="state[ "]/g)].length, 100)
  const edges = def.transitions.reduce((n, tr) => n + tr.from.length, 0)
  t.equal([...svg.matchAll(/<g class="edge" data-event=/g)].length, edges)
  const boxes = boxesOf(svg)
  t.equal(boxes.length, 100 + edges)
  const clashes: string[] = []
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) if (overlaps(boxes[i], boxes[j])) clashes.push(`${boxes[i].what} / ${boxes[j].what}`)
  }
  t.same(clashes, [], 'no state or label box overlaps another')
  const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svg) ?? []
  t.ok(Number(w) > 0 && Number(h) > 0, 'sized to its content')
  t.equal(renderDiagram(def, { format: 'mermaid' }).split('\n').filter(l => l.includes(' : ')).length, edges)
})
