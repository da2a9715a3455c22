import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Subscription } from '@nats-io/transport-node'
import { MAX_RECORD_PAYLOAD } from '../../protocol/entries.js'
import type { CheckpointEntry } from '../../protocol/entries.js'
import { toRcpError, unavailable } from '../../protocol/errors.js'
import type { RcpError } from '../../protocol/errors.js'
import { silentLogger } from '../../storage/index.js'
import type { Logger, SnapshotLine as StoredLine } from '../../storage/index.js'
import type { CommittedLog } from '../bus/types.js'
import {
  acquireLease, connectJetStream, createClusterStore, createStreamHistory, maxRecordBytes, patiently,
  createObjectInstanceSnapshots, loadNewestSnapshot, openJetStreamLog, readStreamState, scanTerms, watchLeader,
} from '../../storage/jetstream/index.js'
import type { ClusterStore, JetStreamConnection, JetStreamLog, Lease, LeaderInfo, LeaderWatch } from '../../storage/jetstream/index.js'
import { createEngine } from '../engine/index.js'
import type { Engine, InstanceRecord, SnapshotLine } from '../engine/types.js'
import { createCompactor } from '../ops/compaction.js'
import type { Compactor } from '../ops/compaction.js'
import { untilApplied } from '../ops/applied.js'
import { createDispatcher } from '../ops/dispatcher.js'
import { DEFAULTS } from '../config/schema.js'
import type { ClusterSection, CompactionSection, StorageSection } from '../config/schema.js'
import { createBus } from '../bus/index.js'
import type { Bus } from '../bus/index.js'
import type { DatabaseStats } from '../ops/index.js'
import type { CallerInfo, Dispatch, Dispatcher, OpOutcome, Readiness } from '../ops/types.js'
import { isOpName, OPS } from '../../protocol/schemas.js'
import type { ClusterInfo, OpName } from '../../protocol/schemas.js'
import type { Static } from '@sinclair/typebox'
import { createEngineRef } from './engine-ref.js'
import { forwardWrite, serveWrites, type LeaderGone } from './forward.js'

export interface ClusterNodeOptions {
  /** the `cluster` section of the configuration (cluster.md §7) */
  cluster: ClusterSection
  /** engine limits: max_machine_versions, idempotency_ttl_secs, idempotency_max_keys */
  storage: Pick<StorageSection, 'max_machine_versions' | 'idempotency_ttl_secs' | 'idempotency_max_keys'>
  compaction: CompactionSection
  /** subscriptions.queue_limit of the bus */
  queueLimit?: number
  logger?: Logger
  /** Unix ms; the time written into entries when this node decides */
  now?: () => number
}

/** INFO's `cluster` object (cluster.md §4), declared once in the protocol schemas. */
export type ClusterStatus = Static<typeof ClusterInfo>
export type Role = ClusterStatus['role']

/** Where clients reach a node, as its leader key says (cluster.md §3). */
export interface Advertised {
  rcpAddr?: string | null
  httpAddr?: string | null
}

/** The startup report of storage.md §5 for a node that loaded its state from JetStream (cluster.md §5). */
export interface ClusterStartupReport {
  source: 'jetstream'
  stream: string
  snapshot: string | null
  snapshot_sequence: number
  records_replayed: number
  head: number
  stream_last_offset: number
  earliest_offset: number
  machine_versions: number
  live_instances: number
  tombstones: number
  idempotency_records: number
  duration_ms: number
}

export interface ClusterCounters {
  elections: number
  forwarded: number
}

/**
 * One rstmdb node of a cluster, offering what single-node openDatabase offers (the
 * session services: dispatch, attach, head, isLeader; stats, close) and its cluster state.
 */
export interface ClusterNode {
  /** every op of the one dispatcher: reads served here, writes decided by the leader */
  dispatch: Dispatch
  /** the subscription bus, fed by this node's log: the same offsets on every node */
  attach: Bus['attach']
  isLeader: () => boolean
  /** the features this node serves (history is read from the stream by instance) */
  features: readonly string[]
  stats: () => DatabaseStats
  /** the highest offset this node has applied (and that committed) */
  head: () => number
  /** the log the bus is fed by: commit notices at the same offsets on every node */
  readonly log: CommittedLog
  /** the current engine's instance (the engine is replaced when the node rebuilds its state) */
  getInstance: (id: string) => InstanceRecord | undefined
  engine: () => Engine
  /** true once the node has caught up with the stream (it stays true) */
  isReady: () => boolean
  /** /readyz: `catching_up` until caught up once, `nats_disconnected` while NATS is lost */
  readiness: () => Readiness
  status: () => ClusterStatus
  counters: () => ClusterCounters
  readonly report: ClusterStartupReport
  /**
   * Joins the election (cluster.md §5: once the node serves). `advertise` is what the leader
   * key tells other nodes and clients about this node.
   */
  join: (advertise?: Advertised) => void
  /**
   * Graceful shutdown, first step: a leader stops deciding, lets its appended writes commit
   * and deletes the lease (another node leads within moments); the node never campaigns
   * again. Its writes are forwarded to the next leader from then on; reads go on.
   */
  handOver: () => Promise<void>
  /** hands leadership over (as handOver) and disconnects */
  close: () => Promise<void>
}

/** the same leadership: a term is null only between the create and the first renewal */
const sameLeader = (a: LeaderInfo, b: LeaderInfo): boolean => a.node_id === b.node_id && (a.term === null || b.term === null || a.term === b.term)

/** ops decided by the leader, forwarded from followers (cluster.md §4): the writes, and those that write snapshots */
const leaderOp = (op: OpName): boolean => OPS[op].write || op === 'COMPACT' || op === 'SNAPSHOT_INSTANCE'
/** catching up must make progress at least this often */
const CATCH_UP_STALL_MS = 30_000
const RETRY_FIRST_MS = 250
const RETRY_MAX_MS = 5_000

/**
 * Starts a node (cluster.md §5): connect to NATS, ensure the stream and buckets, load the
 * newest snapshot from the object store, consume the stream to its last sequence, then
 * join the election. Resolves once caught up; throws NatsConnectError,
 * IncompatibleSettingsError or a catch-up failure when the node must not start.
 */
export async function startClusterNode (options: ClusterNodeOptions): Promise<ClusterNode> {
  const cfg = options.cluster
  const logger = options.logger ?? silentLogger
  const conn = await connectJetStream({
    nats: {
      servers: cfg.nats_servers,
      token: cfg.nats_token,
      user: cfg.nats_user,
      password: cfg.nats_password,
      tlsCa: cfg.nats_tls_ca,
      name: `rstmdb ${cfg.node_id ?? ''}`.trim(),
    },
    stream: cfg.stream,
    subjectPrefix: cfg.subject_prefix,
    replicas: cfg.replicas,
    leaseMs: cfg.lease_ms,
    logger,
  })
  try {
    return await boot(options, conn, logger)
  } catch (err) {
    await conn.nc.close().catch(() => {})
    throw err
  }
}

async function boot (options: ClusterNodeOptions, conn: JetStreamConnection, logger: Logger): Promise<ClusterNode> {
  const started = performance.now()
  const cfg = options.cluster
  const now = options.now ?? Date.now
  const nodeId = cfg.node_id ?? `${hostname()}-${process.pid}`
  const { nc, subjects, resources } = conn
  let self: Omit<LeaderInfo, 'term'> = { node_id: nodeId, rcp_addr: null, http_addr: null }
  const makeEngine = (): Engine => createEngine({
    maxMachineVersions: options.storage.max_machine_versions,
    idempotencyTtlSecs: options.storage.idempotency_ttl_secs,
    idempotencyMaxKeys: options.storage.idempotency_max_keys,
    now,
    warn: (message, fields) => { logger.warn(fields ?? {}, message) },
  })
  const restore = (engine: Engine, line: StoredLine): void => { engine.restore(line as SnapshotLine) }
  if (maxRecordBytes(conn.maxPayload) < MAX_RECORD_PAYLOAD) {
    logger.warn({ max_payload: conn.maxPayload, record_limit: maxRecordBytes(conn.maxPayload), record_cap: MAX_RECORD_PAYLOAD },
      'the NATS servers\' max_payload is below rstmdb\'s record cap: larger writes are refused with BAD_REQUEST record_too_large; set max_payload: 16MB on every nats-server')
  }

  // cluster.md §5: snapshot, then the stream from its offset + 1
  const { stream0, generations, loaded, terms } = await patiently('reading the stream, its snapshots and its term entries', async () => {
    const stream0 = await readStreamState(resources.jsm, cfg.stream)
    const generations = await conn.snapshots.list()
    const loaded = await loadNewestSnapshot(conn.snapshots, makeEngine, restore, logger)
    // the term in force where the retained stream begins: that of the snapshot it was purged to
    const purgedTo = generations.find((g) => g.lastSequence < stream0.first)
    const terms = await scanTerms(resources.js, conn, cfg.stream, stream0.first, stream0.first > 1 ? purgedTo?.term ?? 0 : 0)
    return { stream0, generations, loaded, terms }
  }, logger)
  const S = loaded.snapshot?.lastSequence ?? 0
  const log: JetStreamLog = await openJetStreamLog(conn, { stream: cfg.stream, committed: S, terms, ackTimeoutMs: cfg.lease_ms, logger, stream0 })
  const ref = createEngineRef(loaded.target)
  const store: ClusterStore = createClusterStore({
    log,
    snapshots: conn.snapshots,
    instanceSnapshots: createObjectInstanceSnapshots(resources.snapshots, logger),
    generations,
    newest: loaded.info,
  })
  // before the bus, so that an entry is in the history before a watcher hears of it
  const history = createStreamHistory({ js: resources.js, jsm: resources.jsm, stream: cfg.stream, log, logger })
  // the retained stream below the snapshot never commits here: its entries are indexed by reading it
  const indexed = history.backfill(stream0.first, S)
  const bus = createBus({ log: store, getInstance: (id) => ref.current.getInstance(id), queueLimit: options.queueLimit ?? DEFAULTS.subscriptions.queue_limit })
  // reads on every node; its compactor never runs (COMPACT goes to the leader)
  const readDispatcher = createDispatcher({
    engine: ref.engine,
    storage: store,
    compactor: createCompactor(ref.engine, store, { ...options.compaction, enabled: false }, logger, now),
    history,
    now,
    readWaitMs: cfg.read_wait_ms,
    clusterInfo: () => ({ ...status() }),
  })

  let role: Role = 'follower'
  let lease: Lease | null = null
  let leader: LeaderInfo | null = null
  let leaderDispatcher: Dispatcher | null = null
  let leaderCompactor: Compactor | null = null
  let rpc: Subscription | null = null
  let ready = false
  let closed = false
  /** shutting down: decides nothing more and never campaigns again */
  let leaving = false
  let connected = true
  let campaigning = false
  let replayed = 0
  const counters: ClusterCounters = { elections: 0, forwarded: 0 }

  // role changes happen one at a time, in order
  let chain: Promise<void> = Promise.resolve()
  function transition (name: string, fn: () => Promise<void>): Promise<void> {
    const next = chain.then(fn).catch((err: unknown) => { logger.error({ err, transition: name }, 'cluster transition failed') })
    chain = next
    return next
  }

  /**
   * Applies the stream into `engine` from `from`; the node's engine becomes `engine` as
   * soon as it has seen `swapAt`, before anything above it commits, so reads and commit
   * notices never disagree.
   */
  function follow (from: number, term: number, engine: Engine, swapAt: number): void {
    let swapped = engine === ref.current
    const swap = (seen: number): void => {
      if (swapped || seen < swapAt) return
      ref.replace(engine)
      swapped = true
    }
    log.follow({
      from,
      term,
      apply: (r) => {
        engine.apply(r.entry, r.sequence)
        replayed++
      },
      onSeen: swap,
      onGap: (expected, found) => {
        logger.warn({ expected, found }, 'the stream was compacted past this node; loading a newer snapshot')
        void transition('reload', () => retrying('reload', () => load(Infinity, log.committedHead())))
      },
    })
    swap(from - 1)
  }

  /** State from the newest snapshot at or below `atMost`, then the stream; reads switch over at `swapAt`. */
  async function load (atMost: number, swapAt: number): Promise<void> {
    const fresh = await loadNewestSnapshot(conn.snapshots, makeEngine, restore, logger, atMost)
    const s = fresh.snapshot?.lastSequence ?? 0
    follow(s + 1, Math.max(fresh.snapshot?.term ?? 0, log.terms.termBefore(s + 1)), fresh.target, Math.max(swapAt, s))
  }

  /** Runs `fn` until it succeeds or the node closes (NATS may be unreachable for a while). */
  async function retrying (name: string, fn: () => Promise<void>): Promise<void> {
    let pause = RETRY_FIRST_MS
    for (;;) {
      if (closed) return
      try {
        await fn()
        return
      } catch (err) {
        logger.warn({ err: (err as Error).message, step: name }, 'cluster step failed; retrying')
      }
      await sleep(pause)
      pause = Math.min(pause * 2, RETRY_MAX_MS)
    }
  }

  async function stepDown (reason: RcpError, term?: number): Promise<void> {
    if (role === 'follower') return
    // a notice from an earlier term
    if (term !== undefined && lease !== null && lease.term !== term) return
    const wasLeader = role === 'leader'
    role = 'follower'
    rpc?.unsubscribe()
    rpc = null
    leaderDispatcher = null
    // the state has run ahead of the log only if this node decided writes that did not all commit
    const dirty = log.resign(reason) && wasLeader
    const held = lease
    lease = null
    await held?.release()
    const compactor = leaderCompactor
    leaderCompactor = null
    await compactor?.stop()
    logger.warn({ reason: reason.message, rebuild: dirty, offset: log.committedHead() }, 'no longer the leader')
    if (closed) return
    if (dirty) await retrying('rebuild', () => load(log.committedHead(), log.committedHead()))
    else follow(log.committedHead() + 1, log.term(), ref.current, log.committedHead())
  }

  async function campaign (): Promise<void> {
    if (role !== 'follower' || leaving || !connected || !ready) return
    const state = await log.refresh()
    // only a node that has seen the whole stream may lead (cluster.md §3)
    if (log.seen() < state.last) return
    let term = 0
    const held = await acquireLease({
      kv: resources.leader,
      leaseMs: cfg.lease_ms,
      self,
      logger,
      onLost: (why) => { void transition('lease lost', () => stepDown(unavailable('leadership_lost', `lease lost: ${why}`), term)) },
    })
    if (held === null) return
    term = held.term
    if (term <= log.term()) {
      logger.error({ term, current: log.term() }, 'the leader bucket gave a term below the stream\'s; was it recreated? not leading')
      await held.release()
      return
    }
    lease = held
    role = 'candidate'
    await log.stopFollowing()
    log.lead({
      term,
      canDecide: held.valid,
      onFail: (err) => { void transition('append failed', () => stepDown(err, term)) },
    })
    const ts = now()
    const entry: CheckpointEntry = { type: 'checkpoint', timestamp: ts, term, node_id: nodeId, ts }
    let sequence: number
    try {
      sequence = log.append([entry], false)[0]
      await log.waitFor(sequence)
    } catch (err) {
      await stepDown(toRcpError(err), term)
      return
    }
    ref.current.apply(entry, sequence)
    // another node may have written snapshots while it led; compaction never needs more than this list to be safe
    store.refreshSnapshots().catch((err: unknown) => { logger.warn({ err: (err as Error).message }, 'cannot list snapshots') })
    leaderCompactor = createCompactor(ref.engine, store, options.compaction, logger, now)
    leaderDispatcher = createDispatcher({ engine: ref.engine, storage: store, compactor: leaderCompactor, history, now, readWaitMs: cfg.read_wait_ms })
    const dispatcher = leaderDispatcher
    rpc = serveWrites(nc, subjects.rpcWrite, (op, params) => role === 'leader' && leaderDispatcher === dispatcher ? dispatcher.dispatch(op, params) : null)
    role = 'leader'
    counters.elections++
    logger.info({ term, node_id: nodeId, offset: sequence }, 'leader: taking writes')
  }

  /** who holds the lease changed: forwarded writes in flight to the previous holder end (see forwardWrite) */
  const leaderChanges = new Set<(info: LeaderInfo | null) => void>()

  function onLeader (info: LeaderInfo | null): void {
    leader = info
    for (const change of [...leaderChanges]) change(info)
    if (info !== null || role !== 'follower' || leaving || campaigning) return
    campaigning = true
    void transition('campaign', campaign).finally(() => { campaigning = false })
  }

  /**
   * Resolves once the leader a request is sent to now is gone: its lease lapsed, or another
   * node holds it. With no leader known yet, the first one that appears is the one it went to.
   */
  const leaderGone: LeaderGone = () => {
    let at = leader
    let change: ((info: LeaderInfo | null) => void) | null = null
    const gone = new Promise<void>((resolve) => {
      change = (info) => {
        if (at === null) at = info
        else if (info === null || !sameLeader(at, info)) resolve()
      }
      leaderChanges.add(change)
    })
    return { gone, cancel: () => { if (change !== null) leaderChanges.delete(change) } }
  }

  /** the role as clients see it: a leader whose lease has lapsed decides nothing more, even before it steps down */
  function visibleRole (): Role {
    return role === 'leader' && lease !== null && !lease.valid() ? 'follower' : role
  }

  function status (): ClusterStatus {
    return {
      node_id: nodeId,
      role: visibleRole(),
      term: lease?.term ?? log.term(),
      leader: role === 'leader' && lease !== null ? { ...self, term: lease.term } : leader,
      applied_offset: log.committedHead(),
      stream_last_offset: Math.max(log.streamState().last, log.committedHead()),
    }
  }

  async function run (op: OpName, params: unknown, caller?: CallerInfo): Promise<OpOutcome> {
    if (closed) throw unavailable('no_leader', 'this node is shutting down')
    if (!isOpName(op) || !leaderOp(op)) return await readDispatcher.dispatch(op, params, caller)
    // decided here when this node leads (in the same turn as the check); once it hands over, the next leader decides
    if (role === 'leader' && leaderDispatcher !== null && !leaving) return await leaderDispatcher.dispatch(op, params, caller)
    if (!connected) throw unavailable('no_leader', 'this node has lost its connection to NATS')
    const outcome = await forwardWrite(nc, subjects.rpcWrite, op, params, cfg.write_wait_ms, leaderGone)
    counters.forwarded++
    // the caller reads back from this node: answer once its state has the write
    await untilApplied(log, outcome.walOffset, cfg.read_wait_ms)
    return outcome
  }

  /** Stops deciding, lets what was appended commit and deletes the lease, so another node leads at once. */
  async function handOver (): Promise<void> {
    leaving = true
    await transition('hand over', async () => {
      if (role === 'follower') return
      rpc?.unsubscribe()
      rpc = null
      // writes already appended commit (each PubAck is bounded) before the lease is handed over
      await log.waitFor(log.appendedHead()).catch(() => {})
      await stepDown(unavailable('leadership_lost', 'this node is shutting down'))
    })
  }

  // start: apply up to the stream's last sequence, then serve and join the election
  follow(S + 1, Math.max(loaded.snapshot?.term ?? 0, terms.termBefore(S + 1)), loaded.target, S)
  try {
    for (let mark = log.seen(); !(await log.untilSeen(stream0.last, CATCH_UP_STALL_MS)); mark = log.seen()) {
      if (log.seen() === mark) throw new Error(`catching up with stream "${cfg.stream}" stalled at offset ${mark} of ${stream0.last}`)
    }
    await indexed
  } catch (err) {
    indexed.catch(() => {})
    await history.close()
    await log.close()
    throw err
  }
  ready = true
  const stats = ref.current.stats()
  const report: ClusterStartupReport = {
    source: 'jetstream',
    stream: cfg.stream,
    snapshot: loaded.snapshot?.name ?? null,
    snapshot_sequence: S,
    records_replayed: replayed,
    head: log.committedHead(),
    stream_last_offset: stream0.last,
    earliest_offset: log.earliestOffset(),
    machine_versions: stats.machines,
    live_instances: stats.instances,
    tombstones: stats.tombstones,
    idempotency_records: stats.idempotency,
    duration_ms: Math.round(performance.now() - started),
  }
  logger.info({ ...report, node_id: nodeId }, 'storage recovered')

  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false
        if (role !== 'follower') void transition('disconnect', () => stepDown(unavailable('leadership_lost', 'lost the connection to NATS')))
      } else if (s.type === 'reconnect') {
        connected = true
      }
    }
  })()
  const tick = setInterval(() => { log.refresh().then(history.trim, () => {}) }, Math.max(1, Math.floor(cfg.lease_ms / 3)))
  let watch: LeaderWatch | null = null

  return {
    // results are built by the engine to the protocol's result schemas (as in the dispatcher)
    dispatch: run as Dispatch,
    attach: bus.attach,
    head: () => log.committedHead(),
    features: readDispatcher.features,
    isLeader: () => visibleRole() === 'leader',
    stats: () => {
      const s = status()
      return {
        engine: ref.current.stats(),
        wal: store.stats(),
        bus: bus.stats(),
        cluster: {
          leader: visibleRole() === 'leader',
          term: s.term,
          applied_offset: s.applied_offset,
          lag_entries: s.stream_last_offset - s.applied_offset,
          forwarded: counters.forwarded,
          elections: counters.elections,
        },
      }
    },
    log: store,
    getInstance: (id) => ref.current.getInstance(id),
    engine: () => ref.current,
    isReady: () => ready && !closed,
    readiness: () => !ready ? 'catching_up' : connected && !closed ? 'ok' : 'nats_disconnected',
    status,
    counters: () => ({ ...counters }),
    report,
    join (advertise = {}) {
      if (watch !== null || closed) return
      self = { node_id: nodeId, rcp_addr: advertise.rcpAddr ?? null, http_addr: advertise.httpAddr ?? null }
      watch = watchLeader(resources.leader, cfg.lease_ms, logger, onLeader)
    },
    handOver,
    async close () {
      if (closed) return
      await handOver()
      closed = true
      clearInterval(tick)
      await watch?.stop()
      await history.close()
      await log.close()
      await nc.close().catch(() => {})
    },
  }
}
