import fs from 'node:fs'
import t from 'tap'
import { crc32c } from '../../protocol/crc32c.js'
import { MAX_RECORD_PAYLOAD } from '../../protocol/entries.js'
import type { WalEntry } from '../../protocol/entries.js'
import { encodeRecord, nodeFileLayer } from '../../storage/index.js'
import type { CommittedRecord } from '../../storage/index.js'
import { stampRecord } from '../../storage/record.js'
import { tempDir } from '../support/temp-dir.js'
import { entry, open, segmentFiles } from './helpers.js'

t.test('record codec is byte exact (storage.md §2)', async (t) => {
  const e: WalEntry = { type: 'delete_instance', instance_id: 'o-1', ts: 5 }
  const rec = encodeRecord(e)
  stampRecord(rec, 0x1_0000_0002, true)
  const payload = Buffer.from(JSON.stringify(e))
  t.same([...rec.subarray(0, 4)], [0x57, 0x4c, 0x4f, 0x47])
  t.equal(rec[4], 4)
  t.equal(rec[5], 1)
  t.equal(rec.readUInt16BE(6), 0)
  t.equal(rec.readUInt32BE(8), payload.length)
  t.equal(rec.readUInt32BE(12), crc32c(payload))
  t.equal(rec.readBigUInt64BE(16), 0x1_0000_0002n)
  t.same(rec.subarray(24), payload)
})

t.test('oversized record: BAD_REQUEST record_too_large, no sequence used', async (t) => {
  const dir = tempDir(t)
  const { storage } = await open(dir)
  const big: WalEntry = { type: 'delete_instance', instance_id: 'x'.repeat(MAX_RECORD_PAYLOAD), ts: 1 }
  t.throws(() => storage.append([entry(1), big], true), { code: 'BAD_REQUEST', details: { reason: 'record_too_large', limit: MAX_RECORD_PAYLOAD } })
  t.throws(() => storage.append([big], false), { code: 'BAD_REQUEST', details: { reason: 'record_too_large' } })
  t.equal(storage.appendedHead(), 0)
  const [seq] = storage.append([entry(1)], false)
  t.equal(seq, 1)
  await storage.waitFor(seq)
  await storage.close()
})

t.test('append, commit, restart replays in order; onCommit in sequence order', async (t) => {
  const dir = tempDir(t)
  const { storage } = await open(dir)
  const seen: CommittedRecord[] = []
  storage.onCommit((records) => { seen.push(...records) })
  const acks: number[] = []
  const waits: Array<Promise<void>> = []
  for (let i = 1; i <= 200; i++) {
    const seqs = storage.append(i % 10 === 0 ? [entry(i), entry(i + 1000)] : [entry(i)], i % 10 === 0)
    const last = seqs[seqs.length - 1]
    waits.push(storage.waitFor(last).then(() => { acks.push(last) }))
  }
  await Promise.all(waits)
  t.same(acks, [...acks].sort((a, b) => a - b), 'acks in sequence order')
  t.equal(seen.length, 220)
  t.same(seen.map((r) => r.sequence), Array.from({ length: 220 }, (_, i) => i + 1))
  const stats = storage.stats()
  t.ok(stats.io_stats.fsyncs < 200, `group commit: ${stats.io_stats.fsyncs} fsyncs for 200 appends`)
  t.equal(stats.entry_count, 220)
  t.equal(stats.latest_offset, 220)
  t.equal(stats.fsync_policy, 'every_write')
  await storage.close()

  const again = await open(dir)
  t.equal(again.target.applied.length, 220)
  t.same(again.target.applied.map((a) => a.seq), Array.from({ length: 220 }, (_, i) => i + 1))
  t.equal(again.storage.report.records_replayed, 220)
  t.equal(again.storage.report.head, 220)
  t.equal(again.storage.appendedHead(), 220)
  const [next] = again.storage.append([entry(9999)], false)
  t.equal(next, 221)
  await again.storage.waitFor(next)
  await again.storage.close()
})

t.test('group commit: many concurrent writers share fsyncs', async (t) => {
  const dir = tempDir(t)
  let fsyncs = 0
  let inFlight = 0
  let maxInFlight = 0
  const files = {
    ...nodeFileLayer,
    fdatasync: async (fd: number) => {
      fsyncs++
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      try { await nodeFileLayer.fdatasync(fd) } finally { inFlight-- }
    },
  }
  const { storage } = await open(dir, { files })
  const order: number[] = []
  const writers = Array.from({ length: 64 }, async (_, w) => {
    for (let i = 0; i < 20; i++) {
      const [seq] = storage.append([entry(w * 100 + i)], false)
      await storage.waitFor(seq)
      order.push(seq)
    }
  })
  await Promise.all(writers)
  t.equal(order.length, 1280)
  t.ok(fsyncs < 1280 / 4, `fsyncs ${fsyncs} ≪ writes 1280`)
  t.equal(maxInFlight, 1, 'at most one fsync in flight')
  await storage.close()
})

t.test('rotation at a small segment size; a group never spans segments; big record alone', async (t) => {
  const dir = tempDir(t)
  const { storage } = await open(dir, { segmentSizeBytes: 1000 })
  const waits: Array<Promise<void>> = []
  for (let i = 0; i < 30; i++) {
    const seqs = storage.append(i % 5 === 0 ? [entry(i, 100), entry(i + 100, 100), entry(i + 200, 100)] : [entry(i, 100)], i % 5 === 0)
    waits.push(storage.waitFor(seqs[seqs.length - 1]))
  }
  const [bigSeq] = storage.append([entry(500, 3000)], false)
  waits.push(storage.waitFor(bigSeq))
  await Promise.all(waits)
  const files = segmentFiles(dir)
  t.ok(files.length > 5, `${files.length} segments`)
  for (const f of files.slice(0, -1)) {
    const size = fs.statSync(f).size
    t.ok(size <= 1000 || size > 3000, `segment ${f} within limit or a lone big record (${size})`)
  }
  const stats = storage.stats()
  t.equal(stats.segment_count, files.length)
  t.equal(stats.total_size_bytes, files.reduce((n, f) => n + fs.statSync(f).size, 0))

  // WAL_READ paging across segment boundaries
  const all: number[] = []
  let from = 1
  for (let page = 0; page < 100; page++) {
    const { records } = await storage.read(from, 7, 16 * 1024 * 1024)
    if (records.length === 0) break
    all.push(...records.map((r) => r.sequence))
    from = records[records.length - 1].sequence + 1
  }
  t.same(all, Array.from({ length: storage.appendedHead() }, (_, i) => i + 1))
  const small = await storage.read(1, 1000, 300)
  t.equal(small.records.length, 1, 'maxBytes stops early but returns at least one record')
  await storage.close()

  const again = await open(dir, { segmentSizeBytes: 1000 })
  t.equal(again.target.applied.length, all.length)
  await again.storage.close()
})

t.test('policies every_n, every_ms, never acknowledge and survive a clean close', async (t) => {
  for (const policy of [{ kind: 'every_n', n: 3 }, { kind: 'every_ms', ms: 5 }, { kind: 'never' }] as const) {
    const dir = tempDir(t)
    const { storage } = await open(dir, { fsyncPolicy: policy })
    const waits = Array.from({ length: 20 }, (_, i) => storage.waitFor(storage.append([entry(i)], false)[0]))
    await Promise.all(waits)
    t.equal(storage.committedHead(), 20, policy.kind)
    await storage.close()
    const again = await open(dir)
    t.equal(again.target.applied.length, 20)
    await again.storage.close()
  }
})
