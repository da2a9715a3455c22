import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { WalCorruptionError, LockHeldError, FLAG_GROUP_CONT, HEADER_SIZE } from '../../storage/index.js'
import { tempDir } from '../support/temp-dir.js'
import { captureLog, entry, open, segmentFiles } from './helpers.js'

/** A data dir with `n` single records (and one atomic group of 3 in the middle when `group`). */
async function seeded (n: number, opts: { segmentSizeBytes?: number } = {}): Promise<string> {
  const dir = tempDir(t)
  const { storage } = await open(dir, opts)
  const waits: Array<Promise<void>> = []
  for (let i = 1; i <= n; i++) waits.push(storage.waitFor(storage.append([entry(i, 50)], false)[0]))
  await Promise.all(waits)
  await storage.close()
  return dir
}

function recordStarts (file: string): number[] {
  const buf = fs.readFileSync(file)
  const starts: number[] = []
  for (let pos = 0; pos < buf.length; pos += HEADER_SIZE + buf.readUInt32BE(pos + 8)) starts.push(pos)
  return starts
}

t.test('torn tails of every kind are truncated and reported', async (t) => {
  const cases: Array<{ name: string, damage: (file: string, starts: number[]) => void, keep: number }> = [
    { name: 'incomplete header', damage: (f) => { fs.appendFileSync(f, Buffer.from('WLOG\x03')) }, keep: 10 },
    { name: 'incomplete payload', damage: (f, s) => { fs.truncateSync(f, s[9] + HEADER_SIZE + 5) }, keep: 9 },
    { name: 'zero tail', damage: (f) => { fs.appendFileSync(f, Buffer.alloc(300)) }, keep: 10 },
    {
      name: 'bad CRC at EOF',
      damage: (f, s) => {
        const fd = fs.openSync(f, 'r+')
        fs.writeSync(fd, Buffer.from('Z'), 0, 1, s[9] + HEADER_SIZE + 3)
        fs.closeSync(fd)
      },
      keep: 9,
    },
    {
      name: 'incomplete group',
      damage: (f, s) => {
        // mark the last two records as an unfinished group: both carry GROUP_CONT
        const fd = fs.openSync(f, 'r+')
        fs.writeSync(fd, Buffer.from([FLAG_GROUP_CONT]), 0, 1, s[8] + 5)
        fs.writeSync(fd, Buffer.from([FLAG_GROUP_CONT]), 0, 1, s[9] + 5)
        fs.closeSync(fd)
      },
      keep: 8,
    },
  ]
  for (const c of cases) {
    const dir = await seeded(10)
    const [file] = segmentFiles(dir)
    const starts = recordStarts(file)
    const original = fs.statSync(file).size
    c.damage(file, starts)
    const sizeBefore = fs.statSync(file).size
    const logger = captureLog()
    const { storage, target } = await open(dir, { logger })
    t.equal(target.applied.length, c.keep, `${c.name}: ${c.keep} records kept`)
    const cutAt = c.keep === 10 ? original : starts[c.keep]
    t.equal(fs.statSync(file).size, cutAt, `${c.name}: file truncated at the first bad record`)
    t.equal(storage.report.bytes_truncated, sizeBefore - cutAt)
    t.match(storage.report.truncations, [{ segment: file, position: cutAt }])
    t.ok(logger.lines.some((l) => l.level === 'warn' && l.msg === 'truncated torn WAL tail'), `${c.name}: warning logged`)
    t.ok(logger.lines.some((l) => l.level === 'info' && l.msg === 'storage recovered' && l.obj.bytes_truncated === sizeBefore - cutAt))
    const [seq] = storage.append([entry(99)], false)
    t.equal(seq, c.keep + 1, `${c.name}: sequences continue after the kept prefix`)
    await storage.waitFor(seq)
    await storage.close()
    const again = await open(dir)
    t.equal(again.target.applied.length, c.keep + 1)
    t.equal(again.storage.report.bytes_truncated, 0)
    await again.storage.close()
  }
})

t.test('a flipped bit in a sealed segment stops startup; skip_corrupt_records recovers the rest', async (t) => {
  const dir = await seeded(40, { segmentSizeBytes: 1024 })
  const files = segmentFiles(dir)
  t.ok(files.length >= 3)
  const sealed = files[0]
  const starts = recordStarts(sealed)
  const at = starts[1] + HEADER_SIZE + 10
  const buf = fs.readFileSync(sealed)
  buf[at] ^= 0x04
  fs.writeFileSync(sealed, buf)
  const err = await open(dir, { segmentSizeBytes: 1024 }).then(() => null, (e: unknown) => e)
  t.ok(err instanceof WalCorruptionError)
  t.match(err, { file: sealed, position: starts[1], sequence: 2, reason: 'crc_mismatch' })
  t.match((err as Error).message, /0000000000000001\.wal at byte \d+ \(sequence 2\): crc_mismatch/)

  const logger = captureLog()
  const { storage, target } = await open(dir, { segmentSizeBytes: 1024, skipCorruptRecords: true, logger })
  t.equal(target.applied.length, 39)
  t.notOk(target.applied.some((a) => a.seq === 2))
  t.equal(storage.report.corrupt_records_skipped, 1)
  t.ok(logger.lines.some((l) => l.level === 'warn' && l.obj.position === starts[1]))
  await storage.close()
})

t.test('skip_corrupt_records skips a whole atomic group, never part of it', async (t) => {
  const dir = tempDir(t)
  const { storage } = await open(dir)
  await storage.waitFor(storage.append([entry(1)], false)[0])
  const seqs = storage.append([entry(2), entry(3), entry(4)], true)
  await storage.waitFor(seqs[2])
  await storage.waitFor(storage.append([entry(5)], false)[0])
  await storage.close()
  const [file] = segmentFiles(dir)
  const starts = recordStarts(file)
  const buf = fs.readFileSync(file)
  buf[starts[2] + HEADER_SIZE + 3] ^= 0x01 // middle record of the group
  fs.writeFileSync(file, buf)
  await t.rejects(open(dir), WalCorruptionError)
  const again = await open(dir, { skipCorruptRecords: true })
  t.same(again.target.applied.map((a) => a.seq), [1, 5])
  t.equal(again.storage.report.corrupt_records_skipped, 3)
  t.equal(again.storage.append([entry(6)], false)[0], 6, 'skipped sequences are not reused')
  await again.storage.close()
})

t.test('continuity: WAL starting after 1 with no snapshot is fatal', async (t) => {
  const dir = await seeded(30, { segmentSizeBytes: 1024 })
  fs.rmSync(segmentFiles(dir)[0])
  await t.rejects(open(dir, { segmentSizeBytes: 1024 }), { name: 'WalCorruptionError', message: /no full snapshot/ })
  const { storage } = await open(dir, { segmentSizeBytes: 1024, skipCorruptRecords: true })
  t.ok(storage.report.records_valid > 0)
  await storage.close()
})

t.test('junk files are ignored with a warning; a missing wal/ is created', async (t) => {
  const dir = await seeded(5)
  fs.writeFileSync(path.join(dir, 'wal', 'notes.txt'), 'hello')
  fs.writeFileSync(path.join(dir, 'wal', '00000000000000ZZ.wal'), 'junk')
  fs.writeFileSync(path.join(dir, 'snapshots', 'full-00000000000000000003.jsonl.tmp'), 'partial')
  const logger = captureLog()
  const { storage, target } = await open(dir, { logger })
  t.equal(target.applied.length, 5)
  t.equal(logger.lines.filter((l) => l.msg === 'ignoring unexpected file in wal/').length, 2)
  t.notOk(fs.existsSync(path.join(dir, 'snapshots', 'full-00000000000000000003.jsonl.tmp')), 'tmp files deleted')
  await storage.close()

  const fresh = tempDir(t)
  const log2 = captureLog()
  const second = await open(fresh, { logger: log2 })
  t.ok(fs.existsSync(path.join(fresh, 'wal', '0000000000000001.wal')))
  t.ok(log2.lines.some((l) => l.level === 'warn' && /wal\/ directory missing/.test(l.msg ?? '')))
  t.equal(second.storage.report.head, 0)
  await second.storage.close()
})

t.test('LOCK: a live holder is refused, a stale one is taken over', async (t) => {
  const dir = tempDir(t)
  const first = await open(dir)
  await t.rejects(open(dir), LockHeldError)
  await first.storage.close()
  t.notOk(fs.existsSync(path.join(dir, 'LOCK')), 'released on close')

  fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify({ pid: 2 ** 22 + 17, start_time: '1' }))
  const logger = captureLog()
  const second = await open(dir, { logger })
  t.ok(logger.lines.some((l) => l.msg === 'taking over stale LOCK'))
  t.match(JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')), { pid: process.pid, start_time: /^\d+$/ })
  await second.storage.close()

  // same pid, other start time: a reused pid
  fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify({ pid: process.pid, start_time: '0' }))
  const third = await open(dir)
  await third.storage.close()
})
