import { renderDiagram, type DiagramFormat } from '../src/diagram/index.js'
import { bigMachine } from '../test/diagram/helpers.js'

/**
 * Diagram rendering time (console.md §1, "readable at 100 states"):
 * `npm run bench:diagram`. "cold" renders a definition seen for the first time
 * (the SVG layout is computed), "warm" the same stored definition with another
 * highlight (the layout is reused). Wall time and the process's CPU time are both
 * given: on a shared machine the CPU time is the steadier figure. Prints a table,
 * then the figures as one JSON line (the last line).
 */

const ROUNDS = 20
const results: Array<Record<string, number | string>> = []

for (const states of [10, 100]) {
  const definition = bigMachine(states)
  renderDiagram(structuredClone(definition), { format: 'svg' }) // warm up the code
  for (const [format, cache] of [['svg', 'cold'], ['svg', 'warm'], ['mermaid', '-'], ['dot', '-']] as Array<[DiagramFormat, string]>) {
    const times: number[] = []
    const cpu: number[] = []
    let bytes = 0
    for (let i = 0; i < ROUNDS; i++) {
      const input = cache === 'cold' ? structuredClone(definition) : definition
      const start = process.hrtime.bigint()
      const startCpu = process.cpuUsage()
      bytes = renderDiagram(input, { format, highlight: definition.states[i % states] }).length
      const used = process.cpuUsage(startCpu)
      times.push(Number(process.hrtime.bigint() - start) / 1e6)
      cpu.push((used.user + used.system) / 1000)
    }
    const median = (xs: number[]): number => Math.round([...xs].sort((a, b) => a - b)[Math.floor(ROUNDS / 2)] * 100) / 100
    const row = { median_ms: median(times), max_ms: Math.round(Math.max(...times) * 100) / 100, cpu_median_ms: median(cpu) }
    console.log(`${`${states} states, ${format} ${cache}`.padEnd(26)} median ${String(row.median_ms).padStart(8)} ms   max ${String(row.max_ms).padStart(8)} ms   ` +
      `CPU median ${String(row.cpu_median_ms).padStart(8)} ms   ${bytes} chars`)
    results.push({ name: 'diagram', states, format, cache, ...row, chars: bytes })
  }
}
console.log(JSON.stringify({ suite: 'diagram', results }))
