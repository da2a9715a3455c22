import t from 'tap'
import { SortedIds } from '../../src/engine/sorted-ids.js'
import { prng } from './helpers.js'

t.test('matches a sorted reference under random inserts and deletes', async (t) => {
  const rnd = prng(99)
  const ids = new SortedIds()
  const ref = new Set<string>()
  const sorted = () => [...ref].sort()
  for (let i = 0; i < 20_000; i++) {
    const id = `k${Math.floor(rnd() * 5000).toString(36)}`
    if (rnd() < 0.65) {
      ids.add(id)
      ref.add(id)
    } else {
      ids.delete(id)
      ref.delete(id)
    }
    if (i % 2500 === 0) t.same(ids.toArray(), sorted(), `step ${i}`)
  }
  const all = sorted()
  t.equal(ids.size, all.length)
  t.same(ids.toArray(), all)
  for (let i = 0; i < 200; i++) {
    const start = Math.floor(rnd() * (all.length + 10))
    const limit = Math.floor(rnd() * 300)
    if (ids.slice(start, limit).join() !== all.slice(start, start + limit).join()) t.fail(`slice ${start} ${limit}`)
    const probe = `k${Math.floor(rnd() * 5000).toString(36)}`
    const rank = all.filter((x) => x <= probe).length
    if (ids.rankAfter(probe) !== rank) t.fail(`rank ${probe}`)
  }
  t.equal(ids.rankAfter(''), 0)
  t.equal(ids.rankAfter('\uffff'), all.length)
  t.same(new SortedIds().slice(0, 10), [])
  t.equal(new SortedIds().rankAfter('a'), 0)
})

t.test('fromSorted builds the same set as inserts, and stays correct under later changes', async (t) => {
  const rnd = prng(5)
  const all = Array.from(new Set(Array.from({ length: 3000 }, () => `k${Math.floor(rnd() * 1e6).toString(36)}`))).sort()
  const ids = SortedIds.fromSorted(all)
  t.equal(ids.size, all.length)
  t.same(ids.toArray(), all)
  t.equal(ids.rankAfter(all[1000]), 1001)
  const ref = new Set(all)
  for (let i = 0; i < 5000; i++) {
    const id = `k${Math.floor(rnd() * 1e6).toString(36)}`
    if (rnd() < 0.5) {
      ids.add(id)
      ref.add(id)
    } else {
      const victim = all[Math.floor(rnd() * all.length)]
      ids.delete(victim)
      ref.delete(victim)
    }
  }
  t.same(ids.toArray(), [...ref].sort())
  t.equal(ids.size, ref.size)
  t.same(SortedIds.fromSorted([]).toArray(), [])
  t.equal(SortedIds.fromSorted([]).size, 0)
})
