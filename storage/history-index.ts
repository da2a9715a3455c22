import { setImmediate as yieldTurn } from 'node:timers/promises'
import type { WalEntry } from '../protocol/entries.js'

/**
 * The per-instance offset index of history.md §1: for each instance, the offsets of its
 * committed entries (create_instance, apply_event, delete_instance) still in the WAL.
 *
 * Memory is the point. Most instances have a handful of entries and a few have very
 * many, so one instance's offsets take the cheapest form for their count:
 *   - one entry: the offset itself, as the map's value (no object at all);
 *   - up to RUN_AT entries: a plain array of offsets (8 bytes each; a typed array
 *     costs about 200 bytes of fixed overhead, more than the offsets themselves),
 *     grown by doubling and padded with zeros (offsets are ≥ 1, so the first 0 ends
 *     them): `push` would reserve 16 spare slots, more than most instances use;
 *   - beyond: a Run, offsets relative to a base in a Uint32Array (4 bytes each, a
 *     Float64Array only if one instance's kept entries ever span 2^32 offsets).
 * An offset is stored negated when it is the instance's create_instance, which is
 * always its first entry: that one bit tells whether older entries were dropped.
 *
 * Compaction only removes a prefix of the WAL, so "dropped" is one number, `floor`:
 * every read ignores offsets below it at once, and a sweep frees their memory later.
 */

/** Entries from which an instance's offsets move from an array into a Run. */
const RUN_AT = 32
/** Instances the sweep trims between two yields to the event loop. */
const SWEEP_SLICE = 4096

class Run {
  /** offset of rel[0]; rel[i] + base is entry i */
  base: number
  rel: Uint32Array | Float64Array
  length: number
  /** entry 0 is the instance's create_instance */
  created: boolean

  constructor (offsets: number[], created: boolean) {
    this.base = offsets[0]
    this.rel = new Uint32Array(offsets.length * 2)
    this.length = 0
    this.created = created
    for (const offset of offsets) this.push(offset)
  }

  push (offset: number): void {
    if (this.length === this.rel.length) this.rel = grown(this.rel, this.rel.length * 2)
    const delta = offset - this.base
    if (delta > 0xffffffff && this.rel instanceof Uint32Array) this.rel = grown(this.rel, this.rel.length, Float64Array)
    this.rel[this.length++] = delta
  }

  at (i: number): number {
    return this.base + this.rel[i]
  }

  /** keeps entries from index `from` on */
  dropFirst (from: number): void {
    const base = this.at(from)
    const kept = this.length - from
    const rel = new (this.rel instanceof Uint32Array ? Uint32Array : Float64Array)(Math.max(kept, 1))
    for (let i = 0; i < kept; i++) rel[i] = this.rel[from + i] - (base - this.base)
    this.base = base
    this.rel = rel
    this.length = kept
    this.created = false
  }
}

function grown<T extends Uint32Array | Float64Array> (from: T, size: number, Type?: typeof Uint32Array | typeof Float64Array): T {
  const Ctor = Type ?? (from instanceof Uint32Array ? Uint32Array : Float64Array)
  const next = new Ctor(size)
  next.set(from)
  return next as T
}

/** One instance's offsets: a lone offset, an array, or a Run; negative = the create_instance. */
type Offsets = number | number[] | Run

function count (o: Offsets): number {
  if (typeof o === 'number') return 1
  return Array.isArray(o) ? arrayCount(o) : o.length
}

/** Offsets in a zero-padded array: the index of its first 0. */
function arrayCount (a: number[]): number {
  let hi = a.length - 1
  if (a[hi] !== 0) return a.length
  let lo = 0
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid] === 0) hi = mid
    else lo = mid + 1
  }
  return lo
}

function offsetAt (o: Offsets, i: number): number {
  if (typeof o === 'number') return Math.abs(o)
  if (Array.isArray(o)) return Math.abs(o[i])
  return o.at(i)
}

function startsWithCreate (o: Offsets): boolean {
  if (typeof o === 'number') return o < 0
  if (Array.isArray(o)) return o[0] < 0
  return o.created
}

/** First index whose offset is ≥ `offset` (count(o) when none). */
function lowerBound (o: Offsets, offset: number): number {
  let lo = 0
  let hi = count(o)
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (offsetAt(o, mid) < offset) lo = mid + 1
    else hi = mid
  }
  return lo
}

function withOffset (o: Offsets | undefined, offset: number, create: boolean): Offsets {
  const stored = create ? -offset : offset
  if (o === undefined) return stored
  if (typeof o === 'number') return [o, offset]
  if (Array.isArray(o)) {
    const n = arrayCount(o)
    if (n < o.length) {
      o[n] = offset
      return o
    }
    if (n < RUN_AT) {
      const doubled = o.concat(new Array<number>(n).fill(0))
      doubled[n] = offset
      return doubled
    }
    const run = new Run(o.map(Math.abs), o[0] < 0)
    run.push(offset)
    return run
  }
  o.push(offset)
  return o
}

/** `o` without the entries before index `from` (≥ 1), or undefined when none is left. */
function withoutFirst (o: Offsets, from: number): Offsets | undefined {
  const n = count(o)
  if (from >= n) return undefined
  if (from === n - 1) return offsetAt(o, from)
  if (Array.isArray(o)) return o.slice(from, n)
  const run = o as Run
  run.dropFirst(from)
  return run
}

/** What the index holds of one instance, as a page query sees it. */
export interface IndexedPage {
  /** the page's offsets in the direction asked, then the next one when there is one (up to limit + 1) */
  offsets: number[]
  /** oldest kept offset of the instance, null when none is kept */
  earliest: number | null
  /** the instance's create_instance is kept: nothing of it was dropped */
  complete: boolean
}

export class HistoryIndex {
  private readonly byInstance = new Map<string, Offsets>()
  /** offsets below it are no longer in the WAL (compaction) */
  private floor = 0
  private sweeping: Promise<void> | null = null

  /** Notes a committed entry; only the entries of instances are indexed. */
  addEntry (sequence: number, entry: WalEntry): void {
    if (entry.type === 'create_instance' || entry.type === 'apply_event' || entry.type === 'delete_instance') {
      this.add(sequence, entry.instance_id, entry.type === 'create_instance')
    }
  }

  /** Notes a committed entry of the instance; `creates` when it is its create_instance. */
  add (sequence: number, instanceId: unknown, creates: boolean): void {
    if (typeof instanceId !== 'string') return
    const o = this.byInstance.get(instanceId)
    const next = withOffset(o, sequence, creates)
    // arrays with room and runs grow in place
    if (next !== o) this.byInstance.set(instanceId, next)
  }

  /**
   * The instance's kept offsets from `from` (inclusive): ascending from the lowest
   * offset ≥ from, or with `reverse` descending from the highest offset ≤ from; `want`
   * of them at most (the caller asks for one more than a page to learn the next cursor).
   */
  page (instanceId: string, from: number, want: number, reverse: boolean): IndexedPage {
    const o = this.byInstance.get(instanceId)
    if (o === undefined) return { offsets: [], earliest: null, complete: false }
    const n = count(o)
    const lo = lowerBound(o, this.floor)
    if (lo === n) return { offsets: [], earliest: null, complete: false }
    const offsets: number[] = []
    if (reverse) {
      for (let i = lowerBound(o, from + 1) - 1; i >= lo && offsets.length < want; i--) offsets.push(offsetAt(o, i))
    } else {
      for (let i = Math.max(lo, lowerBound(o, from)); i < n && offsets.length < want; i++) offsets.push(offsetAt(o, i))
    }
    return { offsets, earliest: offsetAt(o, lo), complete: lo === 0 && startsWithCreate(o) }
  }

  /** Instances with kept entries (including the ones the sweep has not reached yet). */
  get instances (): number {
    return this.byInstance.size
  }

  /** Kept entries of every instance. */
  get entries (): number {
    let n = 0
    for (const o of this.byInstance.values()) n += count(o) - lowerBound(o, this.floor)
    return n
  }

  /** Offsets below `sequence` left the WAL (compaction): reads stop seeing them at once. */
  dropBefore (sequence: number): void {
    if (sequence > this.floor) this.floor = sequence
  }

  /**
   * Frees the memory of dropped offsets: a sweep over every instance that yields to the
   * event loop between slices, so a large index does not hold requests up. Sweeps run
   * one after the other.
   */
  release (): Promise<void> {
    const sweep: Promise<void> = (this.sweeping ?? Promise.resolve()).then(() => this.sweep()).finally(() => {
      if (this.sweeping === sweep) this.sweeping = null
    })
    this.sweeping = sweep
    return sweep
  }

  private async sweep (): Promise<void> {
    let n = 0
    for (const id of this.byInstance.keys()) {
      if (++n % SWEEP_SLICE === 0) await yieldTurn()
      // read after the yield: appends meanwhile may have replaced the value; and the floor
      // read now, not when the sweep began, as a later compaction may have raised it
      const o = this.byInstance.get(id)
      if (o === undefined) continue
      const from = lowerBound(o, this.floor)
      if (from === 0) continue
      const kept = withoutFirst(o, from)
      if (kept === undefined) this.byInstance.delete(id)
      else this.byInstance.set(id, kept)
    }
  }
}
