import type { ObjectStore } from '@nats-io/obj'
import { encodeFullSnapshot, FULL_SNAPSHOT_NAME, fullSnapshotName, parseFullSnapshot, SnapshotCorruptError } from '../full-snapshot.js'
import type { FullSnapshotInfo, SnapshotLine } from '../full-snapshot.js'

/** A full snapshot in the object store (cluster.md §6), named like the files of storage.md §1. */
export interface SnapshotObject {
  name: string
  lastSequence: number
  /** the term in force after lastSequence, so appliers starting there know it */
  term: number
}

export interface SnapshotStore {
  /** the full snapshots held, newest first */
  list: () => Promise<SnapshotObject[]>
  /**
   * Streams one snapshot's lines to `onLine` while verifying it; throws
   * SnapshotCorruptError when it does not verify (the lines seen so far must then be dropped).
   */
  load: (name: string, onLine: (line: SnapshotLine) => void) => Promise<FullSnapshotInfo>
  /** streams a full snapshot of `lines` (committed state ≤ lastSequence) into the store */
  write: (lines: Iterable<SnapshotLine>, lastSequence: number, now: number, term: number) => Promise<FullSnapshotInfo>
  remove: (name: string) => Promise<void>
}

function readable (chunks: Iterable<Buffer>): ReadableStream<Uint8Array> {
  const it = chunks[Symbol.iterator]()
  // pulled one chunk at a time, as the store uploads: the frozen view is walked with backpressure
  return new ReadableStream<Uint8Array>({
    pull (controller) {
      const next = it.next()
      if (next.done === true) controller.close()
      else controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength))
    },
  })
}

export function createSnapshotStore (os: ObjectStore): SnapshotStore {
  return {
    async list () {
      const found: SnapshotObject[] = []
      for (const info of await os.list()) {
        const m = FULL_SNAPSHOT_NAME.exec(info.name)
        if (m === null || info.deleted) continue
        const term = Number(info.metadata?.term ?? 0)
        found.push({ name: info.name, lastSequence: Number(m[1]), term: Number.isSafeInteger(term) ? term : 0 })
      }
      return found.sort((a, b) => b.lastSequence - a.lastSequence)
    },
    async load (name, onLine) {
      const result = await os.get(name)
      if (result === null) throw new SnapshotCorruptError(name, 'object is missing')
      const info = await parseFullSnapshot(result.data, name, onLine)
      const err = await result.error
      if (err !== null && err !== undefined) throw new SnapshotCorruptError(name, err.message)
      return info
    },
    async write (lines, lastSequence, now, term) {
      const name = fullSnapshotName(lastSequence)
      const encoding = encodeFullSnapshot(lines, lastSequence, now)
      await os.put({ name, metadata: { term: String(term) } }, readable(encoding.chunks))
      return { file: name, ...encoding.summary() }
    },
    async remove (name) {
      await os.delete(name)
    },
  }
}
