import { readFileSync } from 'node:fs'

/** Resident set size of a process in bytes, from /proc/<pid>/status (Linux); null when unreadable. */
export function residentBytes (pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match === null ? null : Number(match[1]) * 1024
  } catch {
    return null
  }
}
