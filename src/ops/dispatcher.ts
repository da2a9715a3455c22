import type { JsonObject } from '../../protocol/entries.js'
import { MAX_MESSAGE_BYTES } from '../../protocol/entries.js'
import { RcpError } from '../../protocol/errors.js'
import { MAX_BATCH_OPS, PROTOCOL_VERSION, SERVER_FEATURES, SERVER_NAME, SERVER_VERSION } from '../../protocol/identity.js'
import { MIN_OFFSET_OPS, OP_NAMES, OPS, validateParams, type OpName } from '../../protocol/schemas.js'
import type { HistorySource, Storage } from '../../storage/index.js'
import type { Decision, Engine, ReadOp, WriteOp } from '../engine/types.js'
import { untilApplied } from './applied.js'
import type { Compactor } from './compaction.js'
import { createHistoryReads } from './history.js'
import type { CallerInfo, Dispatch, Dispatcher, OpOutcome } from './types.js'

/** What the dispatcher needs of storage: the log, and WAL_STATS and instance snapshots. */
export type DispatcherStorage = Pick<Storage, 'append' | 'waitFor' | 'read' | 'appendedHead' | 'committedHead' | 'untilCommitted' | 'earliestOffset' | 'isFailed' | 'stats' | 'instanceSnapshots'>

export interface DispatcherDeps {
  engine: Engine
  storage: DispatcherStorage
  compactor: Compactor
  /** committed history of one instance (history.md): the local WAL's, or the cluster's stream read by instance */
  history: HistorySource
  now: () => number
  /** how long a read with `min_offset` waits for this node to apply it (cluster.read_wait_ms) */
  readWaitMs: number
  /** INFO's `cluster` object, in cluster mode (cluster.md §4) */
  clusterInfo?: () => JsonObject
}

const ENGINE_READS: ReadonlySet<OpName> = new Set<OpName>(['GET_MACHINE', 'LIST_MACHINES', 'GET_INSTANCE', 'LIST_INSTANCES', 'VALIDATE_MACHINE', 'GET_DIAGRAM', 'GET_TRANSITIONS'])
const SESSION_OPS: ReadonlySet<OpName> = new Set<OpName>(['HELLO', 'AUTH', 'PING', 'BYE', 'WATCH_INSTANCE', 'WATCH_ALL', 'UNWATCH'])
/** the write ops that declare `dry_run` (history.md §5) */
const DRY_RUN_OPS: ReadonlySet<OpName> = new Set(OP_NAMES.filter(op => 'dry_run' in OPS[op].params.properties))
const WAL_READ_MAX_LIMIT = 1000
// room for the envelope and the per-record sequence/offset keys around the entries
const WAL_READ_MAX_BYTES = MAX_MESSAGE_BYTES - 128 * 1024

/**
 * The one dispatcher (architecture.md): data ops of rcp.md §6 over the engine
 * and storage. Writes are decided, appended and applied in one synchronous
 * stretch, so they are decided one at a time in arrival order.
 */
export function createDispatcher ({ engine, storage, compactor, history, now, readWaitMs, clusterInfo }: DispatcherDeps): Dispatcher {
  const startedAt = now()
  const historyReads = createHistoryReads({ engine, history, log: storage, maxBytes: WAL_READ_MAX_BYTES })
  const features = SERVER_FEATURES

  function decide (op: WriteOp, params: JsonObject): Decision {
    if (storage.isFailed()) throw new RcpError('WAL_IO_ERROR', 'WAL is in failed state; restart required')
    return engine.decide(op, params)
  }

  // no await in here: decide, append and apply happen in one turn
  function write (op: WriteOp, params: JsonObject): OpOutcome {
    const decision = decide(op, params)
    let sequences: number[] = []
    if (decision.entries.length > 0) {
      sequences = storage.append(decision.entries, decision.group)
      for (let i = 0; i < sequences.length; i++) engine.apply(decision.entries[i], sequences[i])
      compactor.noteAppended(sequences.length)
    }
    return decision.finish(sequences)
  }

  /**
   * history.md §5: the real decision and the real result, with the offsets its records would get
   * if they were written now; nothing is appended, applied, published or stored for its key.
   */
  async function dryRun (op: WriteOp, params: JsonObject): Promise<OpOutcome> {
    const decision = decide(op, params)
    const decidedOn = storage.appendedHead()
    const outcome = decision.finish(decision.entries.map((_, i) => decidedOn + 1 + i))
    // what it was decided on may still be committing: like the real call, answer only once that is on disk
    await storage.waitFor(decidedOn)
    return { result: { ...outcome.result, dry_run: true }, walOffset: storage.committedHead(), replayed: outcome.replayed }
  }

  async function dispatchWrite (op: WriteOp, params: JsonObject): Promise<OpOutcome> {
    if (params.dry_run === true) {
      if (DRY_RUN_OPS.has(op)) return await dryRun(op, params)
      throw new RcpError('BAD_REQUEST', `dry_run is not supported by ${op}: only by ${[...DRY_RUN_OPS].join(' and ')}`, { field: 'dry_run' })
    }
    const outcome = write(op, params)
    await storage.waitFor(outcome.walOffset)
    if (outcome.walOffset === 0) outcome.walOffset = storage.committedHead()
    return outcome
  }

  function read (result: JsonObject): OpOutcome {
    return { result, walOffset: storage.committedHead() }
  }

  async function snapshotInstance (params: JsonObject): Promise<OpOutcome> {
    const id = params.instance_id as string
    const instance = engine.getInstance(id)
    if (instance === undefined || instance.deleted) throw new RcpError('INSTANCE_NOT_FOUND', `instance not found: ${id}`, { instance_id: id })
    await storage.waitFor(instance.last_wal_offset)
    let written
    try {
      written = await storage.instanceSnapshots.write({ ...instance }, now())
    } catch (err) {
      throw new RcpError('INTERNAL_ERROR', `snapshot I/O error: ${(err as Error).message}`)
    }
    return {
      result: { instance_id: id, snapshot_id: written.snapshot_id, wal_offset: instance.last_wal_offset, size_bytes: written.size_bytes, checksum: written.checksum },
      walOffset: instance.last_wal_offset,
    }
  }

  async function walRead (params: JsonObject): Promise<OpOutcome> {
    const limit = Math.min(params.limit as number, WAL_READ_MAX_LIMIT)
    if (limit < 1) throw new RcpError('BAD_REQUEST', 'limit must be at least 1', { field: 'limit' })
    const { records } = await storage.read(params.from_offset as number, limit, WAL_READ_MAX_BYTES)
    return read({
      records: records.map((r) => ({ sequence: r.sequence, offset: r.sequence, entry: r.entry })),
      next_offset: records.length > 0 ? records[records.length - 1].sequence + 1 : null,
      earliest_offset: storage.earliestOffset(),
      head_offset: storage.committedHead(),
    })
  }

  function info (caller: CallerInfo | undefined): OpOutcome {
    const stats = engine.stats()
    return read({
      server_name: SERVER_NAME,
      server_version: SERVER_VERSION,
      protocol_version: PROTOCOL_VERSION,
      features: [...features],
      max_frame_bytes: MAX_MESSAGE_BYTES,
      max_batch_ops: MAX_BATCH_OPS,
      uptime_secs: Math.floor((now() - startedAt) / 1000),
      wal_offset: storage.committedHead(),
      machines: stats.machines,
      instances: stats.instances,
      connections: caller?.connections ?? 0,
      ...(clusterInfo === undefined ? {} : { cluster: clusterInfo() }),
    })
  }

  async function run (op: OpName, rawParams: unknown, caller?: CallerInfo): Promise<OpOutcome> {
    if (SESSION_OPS.has(op)) throw new RcpError('BAD_REQUEST', `${op} is a session op, not a data op`, { op })
    const params = validateParams(op, rawParams)
    if (OPS[op].write) return await dispatchWrite(op as WriteOp, params)
    if (MIN_OFFSET_OPS.has(op) && params.min_offset !== undefined) await untilApplied(storage, params.min_offset as number, readWaitMs)
    if (op === 'GET_INSTANCE' && params.at_offset !== undefined) return read(await historyReads.instanceAt(params))
    if (ENGINE_READS.has(op)) return read(engine.read(op as ReadOp, params))
    switch (op) {
      case 'INFO': return info(caller)
      case 'SNAPSHOT_INSTANCE': return await snapshotInstance(params)
      case 'WAL_READ': return await walRead(params)
      case 'WAL_STATS': return read({ ...storage.stats() })
      case 'COMPACT': return read(await compactor.compact(params.force_snapshot === true))
      case 'GET_HISTORY': return read(await historyReads.getHistory(params))
    }
    throw new RcpError('BAD_REQUEST', `unknown op: ${op}`, { op })
  }

  // results are built by the engine to the protocol's result schemas: the one place they are typed
  const dispatch = run as Dispatch
  return { dispatch, head: storage.committedHead, features }
}
