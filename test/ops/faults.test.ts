import fs from 'node:fs'
import t from 'tap'
import { nodeFileLayer } from '../../storage/index.js'
import type { FileLayer } from '../../storage/index.js'
import { ORDER } from '../support/machines.js'
import { tempDir } from '../support/temp-dir.js'
import { call, openDb } from './helpers.js'

function faultyFiles (): { files: FileLayer, fail: { write: boolean, sync: boolean, partial: boolean } } {
  const fail = { write: false, sync: false, partial: false }
  const files: FileLayer = {
    ...nodeFileLayer,
    writev: async (fd, buffers) => {
      if (fail.partial) {
        // half a record reaches the file, then the device fails
        fs.writeSync(fd, buffers[0].subarray(0, buffers[0].length >> 1))
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' })
      }
      if (fail.write) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
      return await nodeFileLayer.writev(fd, buffers)
    },
    fdatasync: async (fd) => {
      if (fail.sync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
      await nodeFileLayer.fdatasync(fd)
    },
  }
  return { files, fail }
}

for (const kind of ['write', 'partial', 'sync'] as const) {
  t.test(`injected ${kind} failure → WAL_IO_ERROR, no ack, writes refused, reads served, restart recovers`, async (t) => {
    const dir = tempDir(t)
    const { files, fail } = faultyFiles()
    const db = await openDb(dir, { files })
    await db.dispatch('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
    for (let i = 0; i < 5; i++) await db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `ok-${i}`, idempotency_key: `k${i}` })
    const durableHead = db.head()
    t.equal(durableHead, 6)

    fail[kind] = true
    const acks: string[] = []
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) =>
      db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: `lost-${i}` }).then((r) => { acks.push(String(r.walOffset)) })))
    t.same(acks, [], 'nothing acknowledged')
    for (const o of outcomes) t.match(o, { status: 'rejected', reason: { code: 'WAL_IO_ERROR', retryable: true } })
    t.equal(db.readiness(), 'wal_failed')
    fail[kind] = false

    await t.rejects(db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'later' }), { code: 'WAL_IO_ERROR' }, 'later writes refused')
    await t.rejects(db.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'ok-1', idempotency_key: 'k1' }), { code: 'WAL_IO_ERROR' }, 'even an idempotent replay')
    await t.rejects(db.dispatch('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER }), { code: 'WAL_IO_ERROR' })
    t.match(await call(db, 'GET_INSTANCE', { instance_id: 'ok-3' }), { state: 'pending' }, 'reads served')
    t.match(await call(db, 'WAL_READ', { from_offset: 1 }), { head_offset: durableHead })
    t.match(await call(db, 'LIST_INSTANCES'), { total: 13 }, 'memory ran ahead of disk')
    await db.close()

    const again = await openDb(dir)
    const listed = await call(again, 'LIST_INSTANCES')
    const ids = (listed.instances as Array<{ id: string }>).map((i) => i.id)
    for (let i = 0; i < 5; i++) t.ok(ids.includes(`ok-${i}`), `acknowledged ok-${i} recovered`)
    if (kind === 'sync') {
      // the bytes of the failed batch reached the page cache: they may survive
      t.ok((listed.total as number) >= 5 && (listed.total as number) <= 13)
    } else {
      t.equal(listed.total, 5, 'exactly the durable prefix')
      t.equal(again.head(), durableHead)
    }
    if (kind === 'partial') t.ok(again.report.bytes_truncated > 0, 'half-written record truncated')
    const next = await again.dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'after' })
    t.ok(next.walOffset > durableHead)
    t.equal(again.readiness(), 'ok')
    await again.close()
  })
}
