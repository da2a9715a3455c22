/**
 * An ordered set of ids (JS string order) kept as a list of sorted chunks, like the leaves
 * of a B+tree: insert and remove touch one chunk of at most MAX_CHUNK ids, and skipping to
 * a rank walks chunk sizes, O(n / chunk size).
 */

const MAX_CHUNK = 256
// bulk-built chunks are half full, so the inserts that follow rarely split one at once
const BULK_CHUNK = MAX_CHUNK >>> 1

export class SortedIds {
  private chunks: string[][] = []
  private count = 0

  /** A set holding `ids`, which must be sorted and distinct. */
  static fromSorted (ids: string[]): SortedIds {
    const set = new SortedIds()
    for (let i = 0; i < ids.length; i += BULK_CHUNK) set.chunks.push(ids.slice(i, i + BULK_CHUNK))
    set.count = ids.length
    return set
  }

  get size (): number {
    return this.count
  }

  /** Index of the first chunk whose last id is ≥ id (the chunk id belongs in), or the last chunk. */
  private chunkFor (id: string): number {
    const chunks = this.chunks
    let lo = 0
    let hi = chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const chunk = chunks[mid]
      if (chunk[chunk.length - 1] < id) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  add (id: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([id])
      this.count = 1
      return
    }
    const ci = this.chunkFor(id)
    const chunk = this.chunks[ci]
    const at = lowerBound(chunk, id)
    if (chunk[at] === id) return
    chunk.splice(at, 0, id)
    this.count++
    if (chunk.length > MAX_CHUNK) this.chunks.splice(ci + 1, 0, chunk.splice(chunk.length >>> 1))
  }

  delete (id: string): void {
    if (this.chunks.length === 0) return
    const ci = this.chunkFor(id)
    const chunk = this.chunks[ci]
    const at = lowerBound(chunk, id)
    if (chunk[at] !== id) return
    chunk.splice(at, 1)
    this.count--
    if (chunk.length === 0) this.chunks.splice(ci, 1)
  }

  /** Number of ids ≤ `id`: the rank of the first id greater than it. */
  rankAfter (id: string): number {
    if (this.chunks.length === 0) return 0
    const ci = this.chunkFor(id)
    let rank = 0
    for (let i = 0; i < ci; i++) rank += this.chunks[i].length
    return rank + upperBound(this.chunks[ci], id)
  }

  /** Up to `limit` ids starting at rank `start`. */
  slice (start: number, limit: number): string[] {
    const out: string[] = []
    if (limit <= 0) return out
    let skip = start
    for (const chunk of this.chunks) {
      if (skip >= chunk.length) {
        skip -= chunk.length
        continue
      }
      for (let i = skip; i < chunk.length && out.length < limit; i++) out.push(chunk[i])
      skip = 0
      if (out.length >= limit) break
    }
    return out
  }

  /** Every id, in order, as a fresh array. */
  toArray (): string[] {
    const out: string[] = new Array(this.count)
    let i = 0
    for (const chunk of this.chunks) for (const id of chunk) out[i++] = id
    return out
  }
}

function lowerBound (a: string[], id: string): number {
  let lo = 0
  let hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid] < id) lo = mid + 1
    else hi = mid
  }
  return lo
}

function upperBound (a: string[], id: string): number {
  let lo = 0
  let hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid] <= id) lo = mid + 1
    else hi = mid
  }
  return lo
}
