import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { canonicalChecksum } from '../protocol/canonical.js'
import type { JsonObject } from '../protocol/entries.js'
import { syncDir } from './file-layer.js'
import type { Logger } from './logger.js'

/** Per-instance snapshot files (storage.md §6): instances/<snapshot_id>.json, latest per instance only. */
export interface InstanceSnapshotResult {
  snapshot_id: string
  size_bytes: number
  checksum: string
  last_sequence: number
}

export interface InstanceSnapshots {
  /** `instance` must carry its id as `id` */
  write: (instance: JsonObject & { id: string, last_wal_offset: number }, now: number) => Promise<InstanceSnapshotResult>
  /** deletes the files of instances for which `isGone(id)` holds; returns how many */
  prune: (isGone: (instanceId: string) => boolean) => Promise<number>
}

const FILE_NAME = /^snap-[0-9a-f-]{36}\.json$/

/** Runs the functions it is given one at a time, in call order. */
export function serialQueue (): <T>(fn: () => Promise<T>) => Promise<T> {
  let chain: Promise<unknown> = Promise.resolve()
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn)
    chain = next.catch(() => {})
    return next
  }
}

/** The per-instance snapshot document of storage.md §6, with its id and checksum. */
export function instanceSnapshotDocument (instance: JsonObject & { last_wal_offset: number }, now: number): { snapshotId: string, doc: string, checksum: string } {
  const snapshotId = `snap-${randomUUID()}`
  const body = { instance }
  const checksum = canonicalChecksum(body)
  const doc = JSON.stringify({
    format: 'rstmdb.snapshot',
    format_version: 1,
    kind: 'instance',
    snapshot_id: snapshotId,
    created_at: now,
    last_sequence: instance.last_wal_offset,
    checksum,
    body,
  })
  return { snapshotId, doc, checksum }
}

export function createInstanceSnapshots (dir: string, logger: Logger): InstanceSnapshots {
  // instance id → file name; built on first use by reading the existing files
  let byInstance: Map<string, string> | null = null
  // one file operation at a time, so two snapshots of one instance cannot both survive
  const serial = serialQueue()

  async function index (): Promise<Map<string, string>> {
    if (byInstance !== null) return byInstance
    const found = new Map<string, string>()
    for (const name of await fs.promises.readdir(dir)) {
      if (!FILE_NAME.test(name)) continue
      try {
        const doc = JSON.parse(await fs.promises.readFile(path.join(dir, name), 'utf8'))
        const id = doc?.body?.instance?.id
        if (typeof id !== 'string') continue
        const older = found.get(id)
        if (older !== undefined) await fs.promises.rm(path.join(dir, older), { force: true })
        found.set(id, name)
      } catch (err) {
        logger.warn({ file: path.join(dir, name), err: (err as Error).message }, 'unreadable per-instance snapshot ignored')
      }
    }
    byInstance = found
    return found
  }

  const write: InstanceSnapshots['write'] = (instance, now) => serial(async () => {
    const files = await index()
    const { snapshotId, doc, checksum } = instanceSnapshotDocument(instance, now)
    const name = `${snapshotId}.json`
    const tmp = path.join(dir, `${name}.tmp`)
    const handle = await fs.promises.open(tmp, 'w', 0o644)
    try {
      await handle.writeFile(doc)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.promises.rename(tmp, path.join(dir, name))
    await syncDir(dir)
    const previous = files.get(instance.id)
    files.set(instance.id, name)
    if (previous !== undefined) await fs.promises.rm(path.join(dir, previous), { force: true })
    return { snapshot_id: snapshotId, size_bytes: Buffer.byteLength(doc), checksum, last_sequence: instance.last_wal_offset }
  })

  const prune: InstanceSnapshots['prune'] = (isGone) => serial(async () => {
    const files = await index()
    let removed = 0
    for (const [id, name] of files) {
      if (!isGone(id)) continue
      await fs.promises.rm(path.join(dir, name), { force: true })
      files.delete(id)
      removed++
    }
    if (removed > 0) await syncDir(dir)
    return removed
  })

  return { write, prune }
}
