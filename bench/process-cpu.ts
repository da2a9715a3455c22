import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

let clockTicks: number | null = null

/**
 * CPU time a process on this machine has used so far, in microseconds: utime + stime of
 * /proc/<pid>/stat (Linux), every thread included (the thread pool's fsyncs too). The load
 * generator shares the machine's cores, so throughput also measures the client; server
 * CPU time per operation is the figure that compares faces, policies and builds.
 */
export function processCpuMicros (pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // the command name (field 2) may hold spaces: count fields from after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1e6 / clockTicks
}
