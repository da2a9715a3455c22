import { renderDiagram, type DiagramFormat } from '../src/diagram/index.js'
import { bigMachine } from '../test/diagram/helpers.js'

/**
 * Diagram rendering time (console.md §1, "readable at 100 states"):
 * `npm run bench:diagram`. "cold" renders a definition seen for the first time
 * (the SVG layout is computed), "warm" the same stored definition with another
 * highlight (the layout is reused). Prints a table, then the figures as one JSON
 * line (the last line).
 */

const ROUNDS = 20
const results: Array<Record<string, number | string>> = []

for (const states of [10, 100]) {
  const definition = bigMachine(states)
  renderDiagram(structuredClone(definition), { format: 'svg' }) // warm up the code
  for (const [format, cache] of [['svg', 'cold'], ['svg', 'warm'], ['mermaid', '-'], ['dot', '-']] as Array<[DiagramFormat, string]>) {
    const times: number[] = []
    let bytes = 0
    for (let i = 0; i < ROUNDS; i++) {
      const input = cache === 'cold' ? structuredClone(definition) : definition
      const start = process.hrtime.bigint()
      bytes = renderDiagram(input, { format, highlight: definition.states[i % states] }).length
      times.push(Number(process.hrtime.bigint() - start) / 1e6)
    }
    times.sort((a, b) => a - b)
    const median = Math.round(times[Math.floor(ROUNDS / 2)] * 100) / 100
    const max = Math.round(times[ROUNDS - 1] * 100) / 100
    console.log(`${`${states} states, ${format} ${cache}`.padEnd(26)} median ${String(median).padStart(8)} ms   max ${String(max).padStart(8)} ms   ${bytes} chars`)
    results.push({ name: 'diagram', states, format, cache, median_ms: median, max_ms: max, chars: bytes })
  }
}
console.log(JSON.stringify({ suite: 'diagram', results }))
