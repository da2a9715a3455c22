import t from 'tap'
import { prng, withOrder, type Harness } from './helpers.js'

function seed (h: Harness, ids: string[]): void {
  for (const id of ids) h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: id })
}

t.test('sorting, filters, limit, offset, total and has_more', async (t) => {
  const h = withOrder()
  h.write('PUT_MACHINE', { machine: 'other', version: 1, definition: { states: ['pending', 'x'], initial: 'pending', transitions: [] } })
  seed(h, ['b', 'a', 'Z', 'é', 'a2', 'c'])
  h.write('CREATE_INSTANCE', { machine: 'other', version: 1, instance_id: 'm' })
  h.write('APPLY_EVENT', { instance_id: 'c', event: 'CANCEL' })
  h.write('DELETE_INSTANCE', { instance_id: 'b' })

  const all = h.read('LIST_INSTANCES')
  t.same((all.instances as Array<{ id: string }>).map((r) => r.id), ['Z', 'a', 'a2', 'c', 'm', 'é'], 'JS string order, tombstones left out')
  t.same(all.total, 6)
  t.same(all.has_more, false)
  t.notOk('next_after' in all, 'next_after only with after')
  t.same((all.instances as object[])[0], { id: 'Z', machine: 'order', version: 1, state: 'pending', created_at: h.clock.now, updated_at: h.clock.now, last_wal_offset: 5 })

  const ids = (p: Record<string, unknown>) => (h.read('LIST_INSTANCES', p).instances as Array<{ id: string }>).map((r) => r.id)
  t.same(ids({ machine: 'order' }), ['Z', 'a', 'a2', 'c', 'é'])
  t.same(ids({ state: 'pending' }), ['Z', 'a', 'a2', 'm', 'é'])
  t.same(ids({ machine: 'order', state: 'cancelled' }), ['c'])
  t.same(ids({ machine: 'other', state: 'cancelled' }), [])
  t.same(ids({ machine: 'nope' }), [])
  t.same(h.read('LIST_INSTANCES', { state: 'nope' }), { instances: [], total: 0, has_more: false })

  t.same(h.read('LIST_INSTANCES', { limit: 2, offset: 1 }), { ...h.read('LIST_INSTANCES', { limit: 2, offset: 1 }), total: 6, has_more: true })
  t.same(ids({ limit: 2, offset: 1 }), ['a', 'a2'])
  t.same(ids({ offset: 5 }), ['é'])
  t.same(h.read('LIST_INSTANCES', { offset: 9 }), { instances: [], total: 6, has_more: false })
  t.same(h.read('LIST_INSTANCES', { limit: 0 }), { instances: [], total: 6, has_more: true }, 'limit 0 returns no rows')
  t.same(h.read('LIST_INSTANCES', { limit: 2, after: 'a' }), { ...h.read('LIST_INSTANCES', { limit: 2, after: 'a' }), total: 6, has_more: true, next_after: 'c' })
  t.same(ids({ limit: 2, after: 'a' }), ['a2', 'c'])
  t.same(ids({ after: 'a', offset: 1 }), ['c', 'm', 'é'], 'offset counts from the cursor')
  t.same(h.read('LIST_INSTANCES', { after: 'm' }), { instances: [h.read('LIST_INSTANCES', { after: 'm' }).instances as object[]][0], total: 6, has_more: false, next_after: null })
  t.same(h.read('LIST_INSTANCES', { after: 'a', limit: 0 }).next_after, 'a', 'an empty page keeps the cursor')
})

t.test('limit is clamped to 1000, default 100', async (t) => {
  const h = withOrder()
  seed(h, Array.from({ length: 1100 }, (_, i) => `i-${String(i).padStart(4, '0')}`))
  t.equal((h.read('LIST_INSTANCES').instances as object[]).length, 100)
  const big = h.read('LIST_INSTANCES', { limit: 5000 })
  t.equal((big.instances as object[]).length, 1000)
  t.equal(big.has_more, true)
})

t.test('paging with after is stable under concurrent creates, moves and deletes', async (t) => {
  const rnd = prng(7)
  const h = withOrder()
  const id = () => `id-${Math.floor(rnd() * 1e9).toString(36)}`
  const initial = new Set<string>()
  for (let i = 0; i < 3000; i++) {
    const x = id()
    if (initial.has(x)) continue
    initial.add(x)
    h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: x })
  }
  const deleted = new Set<string>()
  const seen: string[] = []
  let after: string | undefined
  for (let page = 0; page < 1000; page++) {
    const r = h.read('LIST_INSTANCES', { state: 'pending', limit: 37, ...(after === undefined ? {} : { after }) })
    const rows = (r.instances as Array<{ id: string }>).map((x) => x.id)
    seen.push(...rows)
    // between pages other clients create, cancel and delete instances
    for (let k = 0; k < 20; k++) {
      const x = id()
      if (!initial.has(x) && h.engine.getInstance(x) === undefined) h.write('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: x })
    }
    const victims = [...initial].filter((x) => !deleted.has(x) && rnd() < 0.01)
    for (const v of victims) {
      deleted.add(v)
      if (rnd() < 0.5) h.write('DELETE_INSTANCE', { instance_id: v })
      else h.write('APPLY_EVENT', { instance_id: v, event: 'CANCEL' })
    }
    if (!r.has_more) {
      if (after !== undefined) t.equal(r.next_after, null)
      break
    }
    // the first page has no cursor yet: start from its last row
    if (after !== undefined) t.equal(r.next_after, rows[rows.length - 1])
    after = rows[rows.length - 1]
  }
  t.same(seen, [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), 'strictly ascending')
  t.equal(new Set(seen).size, seen.length, 'no duplicates')
  const seenSet = new Set(seen)
  const missed = [...initial].filter((x) => !deleted.has(x) && !seenSet.has(x))
  t.same(missed, [], 'every instance that stayed pending throughout was returned')
})
