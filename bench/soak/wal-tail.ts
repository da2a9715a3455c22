import type { Face } from './faces.js'

/**
 * Follows the WAL with WAL_READ while the soak runs, keeping the records of the run's
 * machines, so the checks can compare what the server wrote with what it acknowledged
 * even after compaction has deleted the segments.
 */
export interface WalTail {
  /** offset → entry, for create_instance and apply_event records of the watched machines */
  records: Map<number, any>
  /** ranges [from, to] deleted by compaction before the tail read them */
  missed: Array<[number, number]>
  /** reads until the cursor has passed `offset`, then stops */
  finish: (offset: number) => Promise<void>
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

export function tailWal (face: Face, machines: Set<string>, from: number): WalTail {
  const records = new Map<number, any>()
  const missed: Array<[number, number]> = []
  let cursor = from
  let until = Infinity
  let deadline = Infinity
  let failure: Error | null = null

  const loop = (async () => {
    while (cursor <= until) {
      if (Date.now() > deadline) throw new Error(`WAL_READ never reached offset ${until} (cursor ${cursor})`)
      const reply = await face.call('WAL_READ', { from_offset: cursor, limit: 1000 })
      if (!reply.ok) throw new Error(`WAL_READ from ${cursor}: ${reply.code}`)
      const { records: page, earliest_offset: earliest } = reply.result
      if (earliest > cursor) missed.push([cursor, earliest - 1])
      for (const r of page) {
        if ((r.entry.type === 'apply_event' || r.entry.type === 'create_instance') && machines.has(r.entry.machine)) records.set(r.sequence, r.entry)
      }
      if (page.length > 0) cursor = page[page.length - 1].sequence + 1
      else if (earliest > cursor) cursor = earliest
      else await sleep(until === Infinity ? 50 : 10)
    }
  })().catch(err => { failure = err })

  return {
    records,
    missed,
    async finish (offset) {
      until = offset
      deadline = Date.now() + 30_000
      await loop
      if (failure !== null) throw failure
    },
  }
}
