import type { HistoryIndex } from './history-index.js'
import type { HistorySource } from './log.js'
import { readRecordsAt, RecordGoneError } from './wal-reader.js'
import { walIoError, type WalState } from './wal-writer.js'

/** Re-plans after compaction deleted a segment under a read; more than this in a row is an I/O problem. */
const ATTEMPTS = 3

/**
 * History of one instance from the local WAL (history.md §1–2): the index names the
 * offsets of the page (and one more, the next cursor), the reader fetches those records.
 */
export function createWalHistory (state: WalState, index: HistoryIndex): HistorySource {
  return {
    async instanceHistory (instanceId, { from, limit, reverse, maxBytes }) {
      for (let attempt = 1; ; attempt++) {
        const page = index.page(instanceId, from, limit + 1, reverse)
        const wanted = page.offsets.slice(0, limit)
        try {
          const { records } = wanted.length === 0 ? { records: [] } : await readRecordsAt(state, wanted, maxBytes)
          return { records, next: page.offsets[records.length] ?? null, earliest: page.earliest, complete: page.complete }
        } catch (err) {
          // the index has dropped the compacted offsets by now: plan the page again
          if (!(err instanceof RecordGoneError)) throw err
          if (attempt === ATTEMPTS) throw walIoError(err)
        }
      }
    },
  }
}
