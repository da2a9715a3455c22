import type { WalEntry } from '../protocol/entries.js'
import type { Log } from '../storage/index.js'

const pad = 'x'.repeat(170)

/** Record `i` of the append benchmarks: an apply_event of about 300 bytes. */
export const benchRecord = (i: number): WalEntry => ({
  type: 'apply_event', instance_id: `inst-${i % 1000}`, machine: 'order', version: 1, event: 'NOTE', from_state: 'pending', to_state: 'pending', payload: null, ctx: { n: i, pad }, ts: 1736937000123,
})

export function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

/** `writers` loops, each appending one record and waiting for its commit, for `runMs`: appends/s and latency. */
export async function appendLoad (log: Pick<Log, 'append' | 'waitFor'>, writers: number, runMs: number): Promise<{ rate: number, p50: number, p99: number }> {
  const latencies: number[] = []
  const stopAt = performance.now() + runMs
  let n = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: writers }, async () => {
    while (performance.now() < stopAt) {
      const t0 = performance.now()
      const [seq] = log.append([benchRecord(n++)], false)
      await log.waitFor(seq)
      latencies.push(performance.now() - t0)
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return { rate: latencies.length / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
}
