import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { JsonObject } from '../../protocol/entries.js'
import { tempDir } from '../support/temp-dir.js'
import { call, openDb } from './helpers.js'

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.js', import.meta.url))
const CYCLES = 26

let seed = 0x5eed
function rand (): number {
  seed = (seed * 1103515245 + 12345) >>> 0
  return seed / 4294967296
}

interface Line { t: string, op?: string, id?: string, ids?: string[], key?: string, wal?: number, state?: string, ctx?: JsonObject, message?: string }

/** Runs the child until it is killed `delayMs` after it is ready; returns the complete lines of its journal. */
function runChild (dir: string, journal: string, policy: string, childSeed: number, delayMs: number): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, policy, String(childSeed), journal], { stdio: ['ignore', 'pipe', 'inherit'] })
    let killTimer: NodeJS.Timeout | undefined
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      if (killTimer === undefined && chunk.includes('ready')) killTimer = setTimeout(() => child.kill('SIGKILL'), delayMs)
    })
    child.on('error', reject)
    child.on('close', (_code, signal) => {
      clearTimeout(killTimer)
      const text = fs.existsSync(journal) ? fs.readFileSync(journal, 'utf8') : ''
      fs.rmSync(journal, { force: true })
      if (signal !== 'SIGKILL') return reject(new Error(`child exited without SIGKILL: ${text.slice(-2000)}`))
      // a line cut by the kill has no newline yet
      const complete = text.slice(0, text.lastIndexOf('\n') + 1)
      resolve(complete.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Line))
    })
  })
}

t.test(`SIGKILL at random moments, ${CYCLES} cycles across every_write and every_n`, { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t)
  const journals = tempDir(t)
  // instance id → last acknowledged write (state, ctx, wal offset) and whether a later write was in flight
  const acked = new Map<string, { state: string, ctx: JsonObject | undefined, wal: number, inFlight: JsonObject | null }>()
  const creates: Array<{ id: string, key: string, wal: number }> = []
  const batches: string[][] = []
  let ackCount = 0

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const policy = cycle % 2 === 0 ? 'every_write' : 'every_n:7'
    const lines = await runChild(dir, path.join(journals, `journal-${cycle}.jsonl`), policy, 1000 + cycle, 50 + Math.floor(rand() * 150))
    for (const line of lines) {
      if (line.t === 'error') t.fail(line.message ?? 'child error')
      if (line.t === 'intent' && line.op === 'apply') {
        const a = acked.get(line.id!)
        if (a !== undefined) a.inFlight = line.ctx!
      }
      if (line.t === 'intent' && line.op === 'batch') batches.push(line.ids!)
      if (line.t !== 'ack') continue
      ackCount++
      if (line.op === 'create') {
        acked.set(line.id!, { state: 'pending', ctx: line.ctx, wal: line.wal!, inFlight: null })
        creates.push({ id: line.id!, key: line.key!, wal: line.wal! })
      } else if (line.op === 'apply') {
        acked.set(line.id!, { state: 'pending', ctx: line.ctx, wal: line.wal!, inFlight: null })
      } else if (line.op === 'batch') {
        acked.set(line.ids![0], { state: 'paid', ctx: undefined, wal: line.wal!, inFlight: null })
        // the group is create a, create b, apply a: b was written just before the last record
        acked.set(line.ids![1], { state: 'pending', ctx: undefined, wal: line.wal! - 1, inFlight: null })
      }
    }

    const db = await openDb(dir)
    let bad = 0
    for (const [id, want] of acked) {
      let got: JsonObject
      try {
        got = await call(db, 'GET_INSTANCE', { instance_id: id })
      } catch {
        bad++
        t.fail(`cycle ${cycle}: acknowledged instance ${id} lost`)
        continue
      }
      const offset = got.last_wal_offset as number
      if (offset === want.wal) {
        if (got.state !== want.state || (want.ctx !== undefined && JSON.stringify(got.ctx) !== JSON.stringify(want.ctx))) {
          bad++
          t.fail(`cycle ${cycle}: ${id} differs from its acknowledged write`, { got, want })
        }
      } else if (offset < want.wal || want.inFlight === null || JSON.stringify(got.ctx) !== JSON.stringify(want.inFlight)) {
        bad++
        t.fail(`cycle ${cycle}: ${id} at offset ${offset}, acknowledged ${want.wal}`, { got, want })
      } else {
        // the write in flight at the kill survived: it is now the known state
        acked.set(id, { state: got.state as string, ctx: got.ctx as JsonObject, wal: offset, inFlight: null })
      }
    }
    for (const ids of batches) {
      const exists = await Promise.all(ids.map((id) => call(db, 'GET_INSTANCE', { instance_id: id }).then((r) => r, () => null)))
      if ((exists[0] === null) !== (exists[1] === null) || (exists[0] !== null && exists[0].state !== 'paid')) {
        bad++
        t.fail(`cycle ${cycle}: atomic batch ${ids.join(',')} partially applied`)
      }
    }
    if (creates.length > 0) {
      const c = creates[Math.floor(rand() * creates.length)]
      const head = db.head()
      const res = await db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: c.id, idempotency_key: c.key })
      if (res.walOffset !== c.wal || db.head() !== head) {
        bad++
        t.fail(`cycle ${cycle}: idempotency key of ${c.id} did not dedupe after restart`)
      }
    }
    await db.close()
    t.equal(bad, 0, `cycle ${cycle} (${policy}): ${acked.size} instances, ${batches.length} batches consistent`)
  }
  t.ok(ackCount > CYCLES * 20, `${ackCount} acknowledged writes checked`)
})
