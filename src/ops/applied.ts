import { unavailable } from '../../protocol/errors.js'
import type { Log } from '../../storage/index.js'

/**
 * Read-your-writes (cluster.md §4): resolves once this node has applied `offset`, else fails
 * after `waitMs` with WAL_IO_ERROR `replica_behind` (retryable). A single node has applied
 * every offset it acknowledged, so there only a write still committing makes it wait.
 */
export async function untilApplied (log: Pick<Log, 'committedHead' | 'untilCommitted'>, offset: number, waitMs: number): Promise<void> {
  if (log.committedHead() >= offset || await log.untilCommitted(offset, waitMs)) return
  const head = log.committedHead()
  throw unavailable('replica_behind', `this node has applied offset ${head}, not yet ${offset} (waited ${waitMs} ms); retry, or read from another node`,
    { min_offset: offset, applied_offset: head })
}
