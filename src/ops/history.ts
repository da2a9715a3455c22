import type { JsonObject } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
import { HISTORY_MAX_LIMIT } from '../../protocol/schemas.js'
import type { CommittedRecord, HistorySource, Log } from '../../storage/index.js'
import type { Engine, InstanceRecord } from '../engine/types.js'
import { instanceNotFound } from '../engine/writes.js'

/**
 * GET_HISTORY and GET_INSTANCE `at_offset` (history.md §2–3): reads of committed
 * history through a HistorySource, so the local WAL and the cluster's stream serve
 * them alike; the engine turns an entry back into an instance.
 */

export interface HistoryReads {
  getHistory: (params: JsonObject) => Promise<JsonObject>
  /** GET_INSTANCE with `at_offset` */
  instanceAt: (params: JsonObject) => Promise<JsonObject>
}

export interface HistoryDeps {
  engine: Pick<Engine, 'getInstance' | 'instanceAfter' | 'read'>
  history: HistorySource
  log: Pick<Log, 'committedHead' | 'earliestOffset' | 'waitFor'>
  /** record bytes one result may carry (the response must fit in one message) */
  maxBytes: number
}

const ITEM_TYPES: Record<string, string> = {
  create_instance: 'CREATE_INSTANCE',
  apply_event: 'APPLY_EVENT',
  delete_instance: 'DELETE_INSTANCE',
}

/** A WAL entry of the instance as GET_HISTORY shows it. */
function historyItem ({ sequence, entry }: CommittedRecord): JsonObject {
  const item: JsonObject = { wal_offset: sequence, type: ITEM_TYPES[entry.type] }
  if (typeof entry.ts === 'number') item.at = new Date(entry.ts).toISOString()
  if (entry.type === 'create_instance') {
    item.machine = entry.machine
    item.version = entry.version
    item.state = entry.initial_state
    item.ctx = entry.initial_ctx ?? {}
  } else if (entry.type === 'apply_event') {
    item.event = entry.event
    item.from_state = entry.from_state
    item.to_state = entry.to_state
    item.payload = entry.payload ?? null
    if (entry.event_id !== undefined) item.event_id = entry.event_id
  }
  return item
}

function aboveHead (field: string, offset: number, head: number): RcpError {
  return new RcpError('BAD_REQUEST', `${field} ${offset} is above the head of the WAL (${head})`, { field, reason: 'above_head', head_offset: head })
}

function notRetained (field: string, offset: number, earliest: number): RcpError {
  return new RcpError('NOT_FOUND', `${field} ${offset} is older than the history kept for this instance (earliest offset ${earliest})`,
    { reason: 'offset_not_retained', field, [field]: offset, earliest_offset: earliest })
}

export function createHistoryReads ({ engine, history, log, maxBytes }: HistoryDeps): HistoryReads {
  /**
   * Waits until the instance's newest entry has committed, so the history holds what
   * GET_INSTANCE showed (a failed WAL never commits it; what did commit is still history).
   * INSTANCE_NOT_FOUND when it never existed: tombstones are kept for good.
   */
  async function settled (id: string): Promise<void> {
    await log.waitFor(existingRecord(id).last_wal_offset).catch(() => {})
  }

  /** Its current record; INSTANCE_NOT_FOUND when it never existed. */
  function existingRecord (id: string): InstanceRecord {
    const record = engine.getInstance(id)
    if (record === undefined) throw instanceNotFound(id)
    return record
  }

  async function getHistory (params: JsonObject): Promise<JsonObject> {
    const id = params.instance_id as string
    await settled(id)
    const head = log.committedHead()
    const from = params.from_offset as number | undefined
    const reverse = params.reverse === true
    if (from !== undefined && from > head) throw aboveHead('from_offset', from, head)
    const limit = Math.min(params.limit as number, HISTORY_MAX_LIMIT)
    const page = await history.instanceHistory(id, { from: from ?? (reverse ? head : 0), limit, reverse, maxBytes })
    // nothing of it kept: all of it is older than the oldest offset the log keeps
    const earliest = page.earliest ?? log.earliestOffset()
    // entries older than the cursor may be gone (never silently fewer: history.md §1)
    if (from !== undefined && !page.complete && from < earliest) throw notRetained('from_offset', from, earliest)
    return {
      instance_id: id,
      items: page.records.map(historyItem),
      next_offset: page.next,
      earliest_offset: earliest,
      complete: page.complete,
    }
  }

  async function instanceAt (params: JsonObject): Promise<JsonObject> {
    const id = params.instance_id as string
    const at = params.at_offset as number
    await settled(id)
    const head = log.committedHead()
    if (at > head) throw aboveHead('at_offset', at, head)
    // the nearest state at or before `at`: the instance's last entry up to there, which holds its whole state
    const page = await history.instanceHistory(id, { from: at, limit: 1, reverse: true, maxBytes })
    const last = page.records[0]
    if (last !== undefined) return engine.instanceAfter(last.entry, last.sequence)
    // its creation is kept and comes later: it did not exist yet
    if (page.complete) throw instanceNotFound(id)
    // none of its entries up to `at` is kept, but if nothing changed it since, it is as it is now
    const lastChange = existingRecord(id).last_wal_offset
    if (lastChange <= at) return engine.read('GET_INSTANCE', { instance_id: id })
    throw notRetained('at_offset', at, page.earliest ?? lastChange)
  }

  return { getHistory, instanceAt }
}
