import fs from 'node:fs'
import path from 'node:path'
import type { Logger } from './logger.js'

/** The data directory's LOCK (storage.md §1). */
export class LockHeldError extends Error {
  readonly pid: number
  constructor (dataDir: string, pid: number) {
    super(`data directory ${dataDir} is locked by running process ${pid}`)
    this.name = 'LockHeldError'
    this.pid = pid
  }
}

/** What /proc/<pid>/stat says of a process: its state (field 3) and start time (field 22). */
interface ProcessStat { state: string, start_time: string }

/** Null when the process does not exist. */
function processStat (pid: number): ProcessStat | null {
  let stat: string
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // the command name (field 2) may hold spaces and parentheses: fields after it start past the last ')'
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { state: rest[3 - 3], start_time: rest[22 - 3] }
}

/**
 * A process that has exited but not been reaped (zombie, 'Z') or is being torn down
 * ('X') still has a /proc entry with its start time, yet holds nothing: after a
 * kill -9 under a parent that does not reap at once, its LOCK is stale.
 */
function isRunning (pid: number, startTime: string | null): boolean {
  const stat = processStat(pid)
  if (stat === null || stat.state === 'Z' || stat.state === 'X') return false
  return startTime === null || stat.start_time === startTime
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
 * that is running with the recorded start time (this process included) keeps it.
 */
export function acquireLock (dataDir: string, logger: Logger): () => void {
  const file = path.join(dataDir, 'LOCK')
  const mine = JSON.stringify({ pid: process.pid, start_time: processStat(process.pid)?.start_time ?? null })
  const release = (): void => {
    if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true })
  }
  if (tryCreate(file, mine)) return release
  const holder = readLock(file)
  if (holder !== null && isRunning(holder.pid, holder.start_time)) throw new LockHeldError(dataDir, holder.pid)
  logger.warn({ lock: file, holder }, 'taking over stale LOCK')
  fs.rmSync(file, { force: true })
  if (!tryCreate(file, mine)) throw new LockHeldError(dataDir, readLock(file)?.pid ?? 0)
  return release
}
