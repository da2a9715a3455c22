import t from 'tap'
import type { WalEntry } from '../../protocol/entries.js'
import { HistoryIndex } from '../../storage/index.js'
import { prng } from '../support/prng.js'

/** The per-instance offset index (history.md §1) against a plain model: every form (one offset, array, run), both directions, drops. */

const create = (id: string): WalEntry => ({ type: 'create_instance', instance_id: id, machine: 'm', version: 1, initial_state: 'a', initial_ctx: {}, ts: 1 })
const apply = (id: string): WalEntry => ({ type: 'apply_event', instance_id: id, machine: 'm', version: 1, event: 'E', from_state: 'a', to_state: 'a', payload: null, ctx: {}, ts: 1 })
const machine: WalEntry = { type: 'put_machine', machine: 'm', version: 1, definition_hash: '', definition: { states: ['a'], initial: 'a', transitions: [] }, ts: 1 }

interface Model { offsets: number[], created: boolean }

/** What page() must answer, from the model. */
function expected (model: Model | undefined, floor: number, from: number, want: number, reverse: boolean): ReturnType<HistoryIndex['page']> {
  const kept = (model?.offsets ?? []).filter(o => o >= floor)
  if (model === undefined || kept.length === 0) return { offsets: [], earliest: null, complete: false }
  const inRange = reverse ? kept.filter(o => o <= from).reverse() : kept.filter(o => o >= from)
  return { offsets: inRange.slice(0, want), earliest: kept[0], complete: model.created && kept[0] === model.offsets[0] }
}

t.test('random entries, pages and drops agree with a plain model', async t => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rand = prng(seed)
    const index = new HistoryIndex()
    const models = new Map<string, Model>()
    const ids = Array.from({ length: 12 }, (_, i) => `i-${i}`)
    let seq = 0
    let floor = 0
    let checks = 0
    for (let step = 0; step < 3000; step++) {
      const r = rand()
      if (r < 0.85) {
        // instances 0–3 get many entries (runs), the rest few; instances 8+ start without a create (as after a snapshot)
        const id = ids[rand() < 0.5 ? Math.floor(rand() * 4) : Math.floor(rand() * ids.length)]
        seq += 1 + Math.floor(rand() * 3)
        let model = models.get(id)
        const isCreate = model === undefined && Number(id.slice(2)) < 8
        if (model === undefined) models.set(id, model = { offsets: [], created: isCreate })
        model.offsets.push(seq)
        index.addEntry(seq, isCreate ? create(id) : apply(id))
      } else if (r < 0.9) {
        index.addEntry(++seq, machine)
      } else if (r < 0.92) {
        floor = Math.max(floor, Math.floor(rand() * (seq + 1)))
        index.dropBefore(floor)
        if (rand() < 0.5) await index.release()
      } else {
        const id = ids[Math.floor(rand() * (ids.length + 1))] ?? 'never'
        const from = Math.floor(rand() * (seq + 2))
        const want = 1 + Math.floor(rand() * 40)
        const reverse = rand() < 0.5
        t.same(index.page(id, from, want, reverse), expected(models.get(id), floor, from, want, reverse), `seed ${seed} step ${step}: ${id} from ${from} want ${want}${reverse ? ' reverse' : ''}`)
        checks++
      }
    }
    await index.release()
    let kept = 0
    for (const model of models.values()) kept += model.offsets.filter(o => o >= floor).length
    t.equal(index.entries, kept, `seed ${seed}: kept entries counted (${checks} pages checked)`)
  }
})

t.test('one instance: a lone offset, then an array, then a run; each form pages alike', async t => {
  const index = new HistoryIndex()
  const offsets: number[] = []
  for (let i = 0; i < 100; i++) {
    const seq = 10 + i * 7
    offsets.push(seq)
    index.addEntry(seq, i === 0 ? create('x') : apply('x'))
    const all = index.page('x', 0, 1000, false)
    t.same(all.offsets, offsets, `${offsets.length} entries ascending`)
    t.same(index.page('x', seq, 1000, true).offsets, [...offsets].reverse(), `${offsets.length} entries descending`)
    t.equal(all.complete, true)
  }
  index.dropBefore(offsets[50])
  t.same(index.page('x', 0, 3, false), { offsets: offsets.slice(50, 53), earliest: offsets[50], complete: false }, 'dropped entries are gone at once')
  await index.release()
  t.same(index.page('x', 0, 3, false), { offsets: offsets.slice(50, 53), earliest: offsets[50], complete: false }, 'and after the sweep freed them')
  index.dropBefore(offsets[99] + 1)
  await index.release()
  t.same(index.page('x', 0, 3, false), { offsets: [], earliest: null, complete: false })
  t.equal(index.instances, 0, 'an instance with nothing kept leaves the index')
})

t.test('offsets of one instance more than 2^32 apart', async t => {
  const index = new HistoryIndex()
  const far = 2 ** 32 + 5
  const offsets = [...Array.from({ length: 40 }, (_, i) => i + 1), far, far + 3, Number.MAX_SAFE_INTEGER]
  for (const [i, seq] of offsets.entries()) index.addEntry(seq, i === 0 ? create('x') : apply('x'))
  t.same(index.page('x', 0, 100, false).offsets, offsets)
  t.same(index.page('x', far + 1, 2, true).offsets, [far, 40])
  index.dropBefore(far)
  await index.release()
  t.same(index.page('x', 0, 100, false), { offsets: [far, far + 3, Number.MAX_SAFE_INTEGER], earliest: far, complete: false })
})

t.test('appends during a sweep are kept', async t => {
  const index = new HistoryIndex()
  for (let i = 0; i < 20_000; i++) index.addEntry(i + 1, create(`i-${i}`))
  index.dropBefore(10_001)
  const sweep = index.release()
  // the sweep yields between slices: these land while it runs
  for (let i = 0; i < 20_000; i += 1000) {
    index.addEntry(20_001 + i, apply(`i-${i}`))
    await new Promise(resolve => setImmediate(resolve))
  }
  await sweep
  t.same(index.page('i-0', 0, 10, false), { offsets: [20_001], earliest: 20_001, complete: false }, 'an instance whose old entry was dropped keeps the new one')
  t.same(index.page('i-15000', 0, 10, false), { offsets: [15_001, 35_001], earliest: 15_001, complete: true })
  t.equal(index.entries, 10_000 + 20)
})
