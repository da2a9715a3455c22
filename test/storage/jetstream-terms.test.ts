import t from 'tap'
import type { WalEntry } from '../../protocol/entries.js'
import { createTermFilter, TermIndex } from '../../storage/jetstream/terms.js'
import type { StreamRecord } from '../../storage/jetstream/records.js'
import { createSubjects, subjectToken } from '../../storage/jetstream/subjects.js'

const termEntry = (term: number): WalEntry => ({ type: 'checkpoint', timestamp: 1, term, node_id: `n${term}`, ts: 1 })
const del = (id: string): WalEntry => ({ type: 'delete_instance', instance_id: id, ts: 1 })

/** runs records through a filter: the sequences that took effect, in order */
function taken (startTerm: number, records: StreamRecord[]): number[] {
  const filter = createTermFilter(startTerm)
  return records.flatMap((r) => filter.offer(r).map((x) => x.sequence))
}

const rec = (sequence: number, term: number, entry: WalEntry, cont = false): StreamRecord => ({ sequence, entry, term, cont })

t.test('an old leader\'s pipelined tail behind a newer term entry is dropped', async (t) => {
  // L1 (term 1) wrote 1-2; L2's term entry (term 5) took 3, where L1's third append expected to go;
  // L1's fourth and fifth appends expected 3 and 4 and were stored behind it
  t.same(taken(0, [
    rec(1, 1, del('a')), rec(2, 1, del('b')), rec(3, 5, termEntry(5)), rec(4, 1, del('c')), rec(5, 1, del('d')), rec(6, 5, del('e')),
  ]), [1, 2, 3, 6])
})

t.test('a term entry that does not raise the term is dropped, and so are its writes', async (t) => {
  t.same(taken(0, [rec(1, 7, termEntry(7)), rec(2, 7, del('a')), rec(3, 4, termEntry(4)), rec(4, 4, del('b')), rec(5, 7, del('c'))]), [1, 2, 5])
  t.same(taken(0, [rec(1, 3, termEntry(3)), rec(2, 3, termEntry(3))]), [1], 'a repeated term too')
})

t.test('groups take effect whole at their last message; a group cut by a term entry never does', async (t) => {
  const filter = createTermFilter(2)
  t.same(filter.offer(rec(1, 2, del('a'), true)), [])
  t.equal(filter.pending, true)
  t.same(filter.offer(rec(2, 2, del('b'), true)), [])
  t.same(filter.offer(rec(3, 2, del('c'))).map((r) => r.sequence), [1, 2, 3], 'released together')
  t.equal(filter.pending, false)
  t.same(taken(2, [rec(1, 2, del('a'), true), rec(2, 2, del('b'), true), rec(3, 3, termEntry(3)), rec(4, 2, del('c'))]), [3],
    'cut by a term entry: dropped, and the old leader\'s last message after it too')
  t.same(taken(2, [rec(1, 2, del('a'), true), rec(2, 1, del('x')), rec(3, 2, del('c'))]), [1, 3], 'a stale message inside a group is dropped, the group is not')
})

t.test('the term index answers the term in force at any sequence', async (t) => {
  const index = new TermIndex(4)
  index.add(10, 5)
  index.add(20, 9)
  index.add(20, 11)
  t.equal(index.termBefore(1), 4, 'before the first: the base')
  t.equal(index.termBefore(10), 4, 'a term entry is not in force for itself')
  t.equal(index.termBefore(11), 5)
  t.equal(index.termBefore(20), 5)
  t.equal(index.termBefore(21), 9, 'repeats are ignored')
  t.equal(index.termBefore(1e9), 9)
})

t.test('subjects: base64url tokens of any name', async (t) => {
  const s = createSubjects('rs')
  t.equal(subjectToken('o-1'), 'by0x')
  t.equal(subjectToken('ünï/cödé.>* x'), Buffer.from('ünï/cödé.>* x').toString('base64url'))
  t.notMatch(subjectToken('a.b c>*?'), /[.\s>*=]/, 'no subject metacharacters, no padding')
  t.equal(s.forEntry(del('o-1')), 'rs.log.i.by0x')
  t.equal(s.forEntry({ type: 'put_machine', machine: 'order', version: 1, definition_hash: '', definition: { states: [], initial: '', transitions: [] }, ts: 1 }), `rs.log.m.${subjectToken('order')}`)
  t.equal(s.forEntry(termEntry(1)), 'rs.log.t')
  t.equal(s.log, 'rs.log.>')
  t.equal(s.rpcWrite, 'rs.rpc.write', 'forwarding stays outside the log')
})
