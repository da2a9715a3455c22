import type { ObjectStore } from '@nats-io/obj'
import { instanceSnapshotDocument, serialQueue } from '../instance-snapshots.js'
import type { InstanceSnapshots } from '../instance-snapshots.js'
import type { Logger } from '../logger.js'

const OBJECT_NAME = /^instances\/snap-[0-9a-f-]{36}\.json$/

/**
 * Per-instance snapshots (storage.md §6) in the object store of cluster mode, named
 * `instances/<snapshot_id>.json`, the latest per instance only; the instance id is in
 * each object's metadata, so the index is rebuilt from a listing.
 */
export function createObjectInstanceSnapshots (os: ObjectStore, logger: Logger): InstanceSnapshots {
  let byInstance: Map<string, string> | null = null
  const serial = serialQueue()

  async function index (): Promise<Map<string, string>> {
    if (byInstance !== null) return byInstance
    const found = new Map<string, { name: string, mtime: string }>()
    for (const info of await os.list()) {
      const id = info.metadata?.instance_id
      if (!OBJECT_NAME.test(info.name) || info.deleted || id === undefined) continue
      const other = found.get(id)
      const [older, newer] = other === undefined || other.mtime < info.mtime ? [other, info] : [info, other]
      if (older !== undefined) await os.delete(older.name).catch((err: unknown) => logger.warn({ name: older.name, err: (err as Error).message }, 'cannot delete an older per-instance snapshot'))
      found.set(id, { name: newer.name, mtime: newer.mtime })
    }
    byInstance = new Map([...found].map(([id, v]) => [id, v.name]))
    return byInstance
  }

  return {
    write: (instance, now) => serial(async () => {
      const objects = await index()
      const { snapshotId, doc, checksum } = instanceSnapshotDocument(instance, now)
      const name = `instances/${snapshotId}.json`
      const bytes = Buffer.from(doc, 'utf8')
      await os.putBlob({ name, metadata: { instance_id: instance.id } }, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      const previous = objects.get(instance.id)
      objects.set(instance.id, name)
      if (previous !== undefined) await os.delete(previous)
      return { snapshot_id: snapshotId, size_bytes: bytes.length, checksum, last_sequence: instance.last_wal_offset }
    }),
    prune: (isGone) => serial(async () => {
      const objects = await index()
      let removed = 0
      for (const [id, name] of objects) {
        if (!isGone(id)) continue
        await os.delete(name)
        objects.delete(id)
        removed++
      }
      return removed
    }),
  }
}
