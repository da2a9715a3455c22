/** A bench program's last output line: its parameters and one entry per measurement. */
export interface Report {
  results: Array<Record<string, unknown>>
  [parameter: string]: unknown
}

/** The report a bench program ended its output with (see bench/README.md, "Machine-readable output"). */
export function parseReport (stdout: string): Report {
  const last = stdout.trimEnd().split('\n').pop() ?? ''
  let report: unknown
  try {
    report = JSON.parse(last)
  } catch {
    throw new Error(`last output line is not JSON: ${JSON.stringify(last.slice(0, 120))}`)
  }
  const results = (report as Partial<Report> | null)?.results
  if (!Array.isArray(results) || !results.every(r => typeof r === 'object' && r !== null)) throw new Error('last output line has no "results" array of objects')
  return report as Report
}
