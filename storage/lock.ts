import fs from 'node:fs'
import path from 'node:path'
import type { Logger } from './logger.js'

/** The data directory's LOCK (storage.md §1). */
export class LockHeldError extends Error {
  readonly pid: number
  constructor (file: string, pid: number) {
    super(`data directory is locked by running process ${pid} (${file})`)
    this.name = 'LockHeldError'
    this.pid = pid
  }
}

/** Field 22 of /proc/<pid>/stat (starttime), or null when the process does not exist. */
export function processStartTime (pid: number): string | null {
  let stat: string
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // the command name (field 2) may hold spaces and parentheses: fields after it start past the last ')'
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return rest[22 - 3] ?? null
}

interface LockContent { pid: number, start_time: string | null }

function readLock (file: string): LockContent | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8'))
    if (typeof parsed?.pid === 'number') return { pid: parsed.pid, start_time: parsed.start_time ?? null }
  } catch {}
  return null
}

function tryCreate (file: string, content: string): boolean {
  let fd: number
  try {
    fd = fs.openSync(file, 'wx', 0o644)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
  try {
    fs.writeSync(fd, content)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  return true
}

/**
 * Takes the LOCK or throws LockHeldError; returns the release function. A holder
 * that is alive with the recorded start time (this process included) keeps it.
 */
export function acquireLock (dataDir: string, logger: Logger): () => void {
  const file = path.join(dataDir, 'LOCK')
  const mine = JSON.stringify({ pid: process.pid, start_time: processStartTime(process.pid) })
  const release = (): void => {
    if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true })
  }
  if (tryCreate(file, mine)) return release
  const holder = readLock(file)
  if (holder !== null) {
    const start = processStartTime(holder.pid)
    if (start !== null && (holder.start_time === null || start === holder.start_time)) throw new LockHeldError(file, holder.pid)
  }
  logger.warn({ lock: file, holder }, 'taking over stale LOCK')
  fs.rmSync(file, { force: true })
  if (!tryCreate(file, mine)) throw new LockHeldError(file, readLock(file)?.pid ?? 0)
  return release
}
