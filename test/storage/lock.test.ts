import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { LockHeldError } from '../../storage/index.js'
import { runServer, startServer } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'
import { captureLog, open } from './helpers.js'

/** Fields 3 (state) and 22 (start time) of /proc/<pid>/stat; the command name may hold spaces. */
function stat (pid: number): { state: string, start_time: string } {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return { state: rest[0], start_time: rest[19] }
}

interface Zombie { pid: number, start_time: string, parent: number }

/**
 * A real zombie: `sh` starts `sleep` in the background, prints its pid, then execs into a
 * second `sleep`, which never waits on children, so the killed first `sleep` stays a zombie
 * (a shell could reap it behind our back). Teardown kills the parent; init reaps the zombie.
 */
async function zombie (t: Test): Promise<Zombie> {
  const parent = spawn('sh', ['-c', 'sleep 600 & echo $!; exec sleep 600'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise((resolve) => parent.once('close', resolve))
  let pid = 0
  t.teardown(async () => {
    if (pid !== 0 && stat(pid).state !== 'Z') process.kill(pid, 'SIGKILL')
    parent.kill('SIGKILL')
    await exited
  })
  let out = ''
  for await (const chunk of parent.stdout) {
    out += String(chunk)
    if (out.includes('\n')) break
  }
  pid = Number(out.trim())
  const { start_time: startTime } = stat(pid)
  // kill only once the shell has become `sleep`: before the exec it could still reap its child
  const comm = (): string => fs.readFileSync(`/proc/${parent.pid as number}/comm`, 'utf8').trim()
  for (let i = 0; i < 500 && comm() !== 'sleep'; i++) await sleep(10)
  t.equal(comm(), 'sleep', 'the parent no longer reaps')
  process.kill(pid, 'SIGKILL')
  // the kernel turns the killed child into a zombie asynchronously; bounded wait
  for (let i = 0; i < 500 && stat(pid).state !== 'Z'; i++) await sleep(10)
  t.equal(stat(pid).state, 'Z', `/proc/${pid}/stat says zombie`)
  return { pid, start_time: startTime, parent: parent.pid as number }
}

function writeLock (dir: string, pid: number, startTime: string): void {
  fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify({ pid, start_time: startTime }))
}

t.test('a zombie holder is gone: its LOCK is taken over with a warning; its running parent keeps one', async (t) => {
  const dead = await zombie(t)
  const dir = tempDir(t)

  writeLock(dir, dead.pid, dead.start_time)
  const logger = captureLog()
  const { storage } = await open(dir, { logger })
  t.match(logger.lines, [{ level: 'warn', msg: 'taking over stale LOCK', obj: { holder: { pid: dead.pid, start_time: dead.start_time } } }])
  t.match(JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')), { pid: process.pid })
  await storage.close()

  writeLock(dir, dead.parent, stat(dead.parent).start_time)
  const refused = await open(dir).then(() => null, (err: unknown) => err)
  t.type(refused, LockHeldError)
  t.equal((refused as Error).message, `data directory ${dir} is locked by running process ${dead.parent}`)
})

t.test('the server takes over the LOCK of a zombie and starts', async (t) => {
  const dead = await zombie(t)
  const dir = tempDir(t)
  writeLock(dir, dead.pid, dead.start_time)
  const server = await startServer(t, { dataDir: dir })
  t.match(server.logs.filter((line) => line.message === 'taking over stale LOCK'), [{ level: 'warn', holder: { pid: dead.pid } }])
  t.match(JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')), { pid: server.child.pid })
  t.equal(await server.stop(), 0)
})

t.test('a second server on a locked data directory: exit 1, one line on stderr, no stack trace', async (t) => {
  const dir = tempDir(t)
  const first = await startServer(t, { dataDir: dir })
  const second = await runServer(t, { dataDir: dir, env: { RSTMDB_HTTP_ENABLED: 'true' } })
  t.equal(second.code, 1)
  t.equal(second.stderr, `rstmdb: data directory ${dir} is locked by running process ${first.child.pid}\n`)
  t.notMatch(second.stdout, /Server listening/, 'refused before any listener binds')
  t.notMatch(second.stdout, /"stack"/, 'the log line carries the message, not a stack trace')
  t.match(second.stdout, /"message":"startup failed"/)
  t.equal(await first.stop(), 0, 'the first server is unharmed')
})
