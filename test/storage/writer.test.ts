import fs from 'node:fs'
import t from 'tap'
import { nodeFileLayer } from '../../storage/index.js'
import type { FileLayer } from '../../storage/index.js'
import { readSequence } from '../../storage/record.js'
import { tempDir } from '../support/temp-dir.js'
import { entry, open, segmentFiles } from './helpers.js'

/** Lets a test hold an fdatasync open until it chooses to release it. */
function gate (): { wait: () => Promise<void>, release: () => void, started: number } {
  let opened: () => void = () => {}
  let promise = new Promise<void>((resolve) => { opened = resolve })
  const g = {
    started: 0,
    wait: async () => {
      g.started++
      await promise
    },
    release: () => {
      opened()
      promise = Promise.resolve()
    },
  }
  return g
}

async function turns (n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

t.test('never: the appends of one turn ride one synchronous write and commit in that turn', async (t) => {
  const dir = tempDir(t)
  const writes: number[] = []
  const files: FileLayer = {
    ...nodeFileLayer,
    writev: (fd, buffers) => {
      writes.push(buffers.length)
      return nodeFileLayer.writev(fd, buffers)
    },
  }
  const { storage } = await open(dir, { files, fsyncPolicy: { kind: 'never' } })
  const waits: Array<Promise<void>> = []
  for (let i = 0; i < 50; i++) waits.push(storage.waitFor(storage.append([entry(i)], false)[0]))
  const group = storage.append([entry(100), entry(101), entry(102)], true)
  waits.push(storage.waitFor(group[2]))
  t.equal(storage.committedHead(), 0, 'nothing is committed before the turn ends')
  // an immediate queued after the appends runs after the writer's flush of this turn
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(storage.committedHead(), 53, 'committed once write() returned, with no thread-pool round trip')
  t.same(writes, [53], 'one write for the whole turn')
  await Promise.all(waits)
  await storage.close()
  const again = await open(dir)
  t.same(again.target.applied.map((a) => a.seq), Array.from({ length: 53 }, (_, i) => i + 1))
  await again.storage.close()
})

t.test('every_write: acknowledged only after an fsync that started after the write; no write while an fsync runs', async (t) => {
  const dir = tempDir(t)
  type Event = { kind: 'write', seqs: number[] } | { kind: 'sync_start' } | { kind: 'sync_end' } | { kind: 'ack', seq: number }
  const events: Event[] = []
  const files: FileLayer = {
    ...nodeFileLayer,
    writev: (fd, buffers) => {
      events.push({ kind: 'write', seqs: buffers.map((b) => readSequence(b, 0)) })
      return nodeFileLayer.writev(fd, buffers)
    },
    fdatasync: async (fd) => {
      events.push({ kind: 'sync_start' })
      await nodeFileLayer.fdatasync(fd)
      // a slow device: appends pile up meanwhile
      await new Promise((resolve) => setTimeout(resolve, 2))
      events.push({ kind: 'sync_end' })
    },
  }
  const { storage } = await open(dir, { files })
  await Promise.all(Array.from({ length: 24 }, async (_, w) => {
    for (let i = 0; i < 8; i++) {
      // staggered, so appends keep arriving while an fsync runs
      await turns((w + i) % 4)
      const [seq] = storage.append([entry(w * 100 + i)], false)
      await storage.waitFor(seq)
      events.push({ kind: 'ack', seq })
    }
  }))
  await storage.close()

  const writtenAt = new Map<number, number>()
  let syncing = false
  let bad = 0
  const acks: number[] = []
  events.forEach((e, i) => {
    if (e.kind === 'write') {
      if (syncing) bad++
      for (const s of e.seqs) writtenAt.set(s, i)
    } else if (e.kind === 'sync_start') {
      if (syncing) bad++
      syncing = true
    } else if (e.kind === 'sync_end') {
      syncing = false
    } else {
      acks.push(e.seq)
      // the latest fsync that ended before this ack must have started after the record was written
      let start = -1
      for (let j = i - 1, ended = false; j >= 0; j--) {
        const k = events[j].kind
        if (k === 'sync_end') ended = true
        if (k === 'sync_start' && ended) { start = j; break }
      }
      if (start < (writtenAt.get(e.seq) ?? Infinity)) bad++
    }
  })
  t.equal(acks.length, 24 * 8)
  t.equal(bad, 0, 'one fsync at a time, no write during one, every ack covered by a later-started fsync')
  t.ok(events.filter((e) => e.kind === 'sync_start').length < 24 * 8 / 2, 'group commit: writers share fsyncs')
  t.same(acks, [...acks].sort((a, b) => a - b), 'acknowledged in sequence order')
})

t.test('every_ms: the timer fsync runs beside writes, and close waits for it', async (t) => {
  const dir = tempDir(t)
  const sync = gate()
  const files: FileLayer = {
    ...nodeFileLayer,
    fdatasync: async (fd) => {
      await sync.wait()
      await nodeFileLayer.fdatasync(fd)
    },
  }
  const { storage } = await open(dir, { files, fsyncPolicy: { kind: 'every_ms', ms: 1 } })
  await storage.waitFor(storage.append([entry(1)], false)[0])
  for (let i = 0; i < 1000 && sync.started === 0; i++) await new Promise((resolve) => setTimeout(resolve, 1))
  t.equal(sync.started, 1, 'the timer started an fsync, which is held open')
  const [seq] = storage.append([entry(2)], false)
  await storage.waitFor(seq)
  t.equal(storage.committedHead(), 2, 'a write during the fsync is acknowledged without waiting for it')
  let closed = false
  const closing = storage.close().then(() => { closed = true })
  await turns(5)
  t.equal(closed, false, 'close waits for the running fsync')
  sync.release()
  await closing
  const again = await open(dir)
  t.equal(again.target.applied.length, 2)
  await again.storage.close()
})

t.test('a file layer that throws synchronously puts the WAL in its failed state', async (t) => {
  const dir = tempDir(t)
  let broken = false
  const files: FileLayer = {
    ...nodeFileLayer,
    writev: (fd, buffers) => {
      if (broken) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' })
      return nodeFileLayer.writev(fd, buffers)
    },
  }
  const { storage } = await open(dir, { files, fsyncPolicy: { kind: 'never' } })
  await storage.waitFor(storage.append([entry(1)], false)[0])
  broken = true
  const waits = [1, 2, 3].map((i) => storage.waitFor(storage.append([entry(i + 1)], false)[0]))
  for (const w of waits) await t.rejects(w, { code: 'WAL_IO_ERROR' })
  t.equal(storage.isFailed(), true)
  t.equal(storage.committedHead(), 1)
  t.throws(() => storage.append([entry(9)], false), { code: 'WAL_IO_ERROR' }, 'later appends refused')
  await t.rejects(storage.waitFor(4), { code: 'WAL_IO_ERROR' })
  await storage.close()
  const again = await open(dir)
  t.equal(again.target.applied.length, 1, 'only the acknowledged record is on disk')
  await again.storage.close()
})

t.test('one turn of appends spanning several rotations under never', async (t) => {
  const dir = tempDir(t)
  const { storage } = await open(dir, { segmentSizeBytes: 600, fsyncPolicy: { kind: 'never' } })
  const waits: Array<Promise<void>> = []
  for (let i = 0; i < 40; i++) {
    const seqs = storage.append(i % 7 === 0 ? [entry(i, 60), entry(i + 100, 60)] : [entry(i, 60)], i % 7 === 0)
    waits.push(storage.waitFor(seqs[seqs.length - 1]))
  }
  const [big] = storage.append([entry(999, 2000)], false)
  waits.push(storage.waitFor(big))
  waits.push(storage.waitFor(storage.append([entry(1000)], false)[0]))
  await Promise.all(waits)
  const files = segmentFiles(dir)
  t.ok(files.length > 5, `${files.length} segments`)
  for (const f of files.slice(0, -1)) {
    const size = fs.statSync(f).size
    t.ok(size <= 600 || size > 2000, `segment within limit or a lone big record (${size})`)
  }
  await storage.close()
  const again = await open(dir, { segmentSizeBytes: 600 })
  t.same(again.target.applied.map((a) => a.seq), Array.from({ length: 48 }, (_, i) => i + 1))
  await again.storage.close()
})
