import type { SoakReport } from './run.js'

/** The human summary of a soak run. */
export function formatReport (r: SoakReport): string {
  const lines = [
    `soak ${r.ok ? 'PASSED' : 'FAILED'}: ${r.duration_sec}s, seed ${r.seed}, offsets ${r.offsets.first}..${r.offsets.last}`,
    ...Object.entries(r.counts).map(([k, v]) => `  ${k.padEnd(28)} ${v}`),
    `  WAL records tailed           ${r.wal_tail.records} (${r.wal_tail.missed_ranges} ranges compacted before read)`,
    '  watcher              face  expected  received  sessions  overflows  compacted gaps',
    ...r.watchers.map(w => `  ${w.name.padEnd(20)} ${w.face.padEnd(4)} ${String(w.expected).padStart(9)} ${String(w.received).padStart(9)} ${String(w.sessions).padStart(9)} ${String(w.overflows).padStart(10)} ${String(w.compacted_gaps).padStart(15)}`),
    r.memory === null
      ? '  server memory                not checked (no pid)'
      : `  server RSS MiB               baseline ${r.memory.baseline_mb}, peak ${r.memory.peak_mb}, after ${r.memory.settled_mb} (limit ${r.memory.limit_mb})`,
    `  violations                   ${r.violation_count}`,
    ...r.violations.map(v => `    ${v}`),
  ]
  return lines.join('\n')
}
