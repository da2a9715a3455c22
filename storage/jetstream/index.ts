import type { NatsConnection } from '@nats-io/transport-node'
import type { JetStreamClient } from '@nats-io/jetstream'
import { SnapshotCorruptError } from '../full-snapshot.js'
import type { FullSnapshotInfo, SnapshotLine } from '../full-snapshot.js'
import type { Logger } from '../logger.js'
import { silentLogger } from '../logger.js'
import { connectNats } from './connect.js'
import { patiently } from './patience.js'
import type { NatsConnectOptions } from './connect.js'
import { ensureResources } from './resources.js'
import type { ClusterResources } from './resources.js'
import { createSnapshotStore } from './snapshots.js'
import type { SnapshotObject, SnapshotStore } from './snapshots.js'
import { createSubjects } from './subjects.js'
import type { Subjects } from './subjects.js'
import { entryTerm, TermIndex } from './terms.js'
import { decodeRecord } from './records.js'
import { createJetStreamLog, readStreamState } from './log.js'
import type { JetStreamLog, StreamState } from './log.js'

export { connectNats } from './connect.js'
export type { NatsConnectOptions } from './connect.js'
export { IncompatibleSettingsError, NatsConnectError } from './errors.js'
export { JetStreamUnavailableError, patiently } from './patience.js'
export { createJetStreamLog, readStreamState } from './log.js'
export type { FollowOptions, JetStreamLog, LeadOptions, StreamState } from './log.js'
export { acquireLease, readLeader, watchLeader, LEADER_KEY } from './lease.js'
export type { Lease, LeaderInfo, LeaderWatch } from './lease.js'
export { createClusterStore } from './store.js'
export { createStreamHistory } from './history.js'
export type { StreamHistory } from './history.js'
export type { ClusterStore } from './store.js'
export { createObjectInstanceSnapshots } from './instance-snapshots.js'
export { leaderBucket, snapshotBucket } from './resources.js'
export type { ClusterResources } from './resources.js'
export type { SnapshotObject, SnapshotStore } from './snapshots.js'
export { createSubjects, subjectToken } from './subjects.js'
export type { Subjects } from './subjects.js'
export { TermIndex } from './terms.js'
export { maxRecordBytes } from './writer.js'

export interface JetStreamOptions {
  nats: NatsConnectOptions
  /** cluster.stream */
  stream: string
  /** cluster.subject_prefix */
  subjectPrefix: string
  /** cluster.replicas */
  replicas: number
  /** cluster.lease_ms */
  leaseMs: number
  /** told while JetStream is not answering yet */
  logger?: Logger
}

/** A connection to NATS with the cluster's resources in place (cluster.md §5, first two steps). */
export interface JetStreamConnection {
  nc: NatsConnection
  resources: ClusterResources
  subjects: Subjects
  snapshots: SnapshotStore
  /** the servers' max_payload: no message may be larger */
  maxPayload: number
}

/**
 * Connects (bounded; NatsConnectError names the servers and the option to fix) and
 * ensures the stream, the leader bucket and the snapshot store (IncompatibleSettingsError
 * names the setting that differs). The connection is closed when either fails.
 */
export async function connectJetStream (opts: JetStreamOptions): Promise<JetStreamConnection> {
  const nc = await connectNats(opts.nats)
  try {
    const subjects = createSubjects(opts.subjectPrefix)
    const resources = await patiently('creating or checking the stream and the buckets',
      () => ensureResources(nc, { stream: opts.stream, subjects, replicas: opts.replicas, leaseMs: opts.leaseMs }), opts.logger ?? silentLogger)
    return { nc, resources, subjects, snapshots: createSnapshotStore(resources.snapshots), maxPayload: nc.info?.max_payload ?? 1024 * 1024 }
  } catch (err) {
    await nc.close().catch(() => {})
    throw err
  }
}

export interface JetStreamLogStart {
  stream: string
  /** the state the log feeds holds everything up to here (a snapshot's last sequence) */
  committed: number
  terms: TermIndex
  ackTimeoutMs: number
  logger: Logger
  /** the stream's state, when just read */
  stream0?: StreamState
}

/** The JetStream log over a connection (createJetStreamLog). */
export async function openJetStreamLog (conn: JetStreamConnection, start: JetStreamLogStart): Promise<JetStreamLog> {
  const { js, jsm } = conn.resources
  return createJetStreamLog({
    js,
    jsm,
    stream: start.stream,
    subjects: conn.subjects,
    maxPayload: conn.maxPayload,
    ackTimeoutMs: start.ackTimeoutMs,
    logger: start.logger,
    committed: start.committed,
    terms: start.terms,
    stream0: start.stream0 ?? await readStreamState(jsm, start.stream),
  })
}

export interface LoadedSnapshot<T> {
  /** the state the snapshot was loaded into (fresh when there is none) */
  target: T
  snapshot: SnapshotObject | null
  info: FullSnapshotInfo | null
}

/**
 * Loads the newest full snapshot that verifies (cluster.md §5, §6) into a fresh target
 * from `create`; a corrupt one is logged and the next older tried, each into a new target.
 * `atMost` skips snapshots past that sequence.
 */
export async function loadNewestSnapshot<T> (
  store: SnapshotStore, create: () => T, restore: (target: T, line: SnapshotLine) => void, logger: Logger, atMost = Infinity
): Promise<LoadedSnapshot<T>> {
  for (const snapshot of await store.list()) {
    if (snapshot.lastSequence > atMost) continue
    const target = create()
    try {
      const info = await store.load(snapshot.name, (line) => restore(target, line))
      return { target, snapshot, info }
    } catch (err) {
      if (!(err instanceof SnapshotCorruptError)) throw err
      logger.error({ snapshot: snapshot.name, err: err.message }, 'full snapshot is corrupt; trying an older one')
    }
  }
  return { target: create(), snapshot: null, info: null }
}

const TERM_SCAN_TIMEOUT_MS = 30_000

/**
 * The term entries the stream retains (cluster.md §3), read by their subject alone:
 * whether a term entry took effect depends only on the term entries before it. `base`
 * is the term in force before the stream's first retained message.
 */
export async function scanTerms (js: JetStreamClient, conn: JetStreamConnection, stream: string, first: number, base: number): Promise<TermIndex> {
  const index = new TermIndex(base)
  const last = await conn.resources.jsm.streams.getMessage(stream, { last_by_subj: conn.subjects.term })
  if (last === null) return index
  const consumer = await js.consumers.get(stream, { filter_subjects: conn.subjects.term, opt_start_seq: first })
  const messages = await consumer.consume({ max_messages: 256, expires: 5_000 })
  const timer = setTimeout(() => messages.stop(), TERM_SCAN_TIMEOUT_MS)
  let term = base
  let reached = false
  try {
    for await (const m of messages) {
      const record = decodeRecord(m.seq, m.data, m.headers)
      const started = record === null ? null : entryTerm(record.entry)
      if (started !== null && started > term) {
        term = started
        index.add(m.seq, started)
      }
      if (m.seq >= last.seq) {
        reached = true
        break
      }
    }
  } finally {
    clearTimeout(timer)
    messages.stop()
    await consumer.delete().catch(() => {})
  }
  if (!reached) throw new Error(`could not read the term entries of stream "${stream}" within ${TERM_SCAN_TIMEOUT_MS} ms`)
  return index
}
