import type { NatsConnection } from '@nats-io/transport-node'
import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { JetStreamClient, JetStreamManager, StreamConfig } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import type { KV } from '@nats-io/kv'
import { Objm } from '@nats-io/obj'
import type { ObjectStore } from '@nats-io/obj'
import { IncompatibleSettingsError } from './errors.js'
import type { Subjects } from './subjects.js'

export interface ClusterResourceOptions {
  /** cluster.stream */
  stream: string
  subjects: Subjects
  /** cluster.replicas */
  replicas: number
  /** cluster.lease_ms: the leader bucket's TTL */
  leaseMs: number
}

export interface ClusterResources {
  js: JetStreamClient
  jsm: JetStreamManager
  /** `<stream>_LEADER` (cluster.md §3) */
  leader: KV
  /** `<stream>_SNAPSHOTS` (cluster.md §6) */
  snapshots: ObjectStore
}

export const leaderBucket = (stream: string): string => `${stream}_LEADER`
export const snapshotBucket = (stream: string): string => `${stream}_SNAPSHOTS`

const NANOS_PER_MS = 1_000_000
const LEASE_API_MIN_TIMEOUT_MS = 500

/** One setting a node insists on: where it lives in StreamConfig, its value, and what to tell the operator. */
interface Expected {
  setting: keyof StreamConfig
  value: unknown
  hint: string
}

const NEVER_DROP = 'nothing may be dropped from it except by compaction; restore the setting or remove the stream'

function logSettings (opts: ClusterResourceOptions): Expected[] {
  return [
    { setting: 'subjects', value: [opts.subjects.log], hint: 'cluster.subject_prefix' },
    { setting: 'num_replicas', value: opts.replicas, hint: 'cluster.replicas' },
    { setting: 'storage', value: 'file', hint: NEVER_DROP },
    { setting: 'retention', value: 'limits', hint: NEVER_DROP },
    { setting: 'max_msgs', value: -1, hint: NEVER_DROP },
    { setting: 'max_bytes', value: -1, hint: NEVER_DROP },
    { setting: 'max_age', value: 0, hint: NEVER_DROP },
    { setting: 'max_msgs_per_subject', value: -1, hint: NEVER_DROP },
    { setting: 'max_msg_size', value: -1, hint: NEVER_DROP },
    { setting: 'deny_delete', value: true, hint: NEVER_DROP },
    { setting: 'deny_purge', value: false, hint: 'compaction purges the stream below its older snapshot' },
    { setting: 'allow_rollup_hdrs', value: false, hint: NEVER_DROP },
    { setting: 'sealed', value: false, hint: 'a sealed stream takes no appends' },
  ]
}

function leaderSettings (opts: ClusterResourceOptions): Expected[] {
  return [
    { setting: 'max_age', value: opts.leaseMs * NANOS_PER_MS, hint: 'cluster.lease_ms must be the same on every node' },
    { setting: 'num_replicas', value: opts.replicas, hint: 'cluster.replicas' },
    { setting: 'max_msgs_per_subject', value: 1, hint: 'the lease keeps one revision' },
    { setting: 'storage', value: 'file', hint: 'the lease must survive server restarts' },
  ]
}

function snapshotSettings (opts: ClusterResourceOptions): Expected[] {
  return [
    { setting: 'num_replicas', value: opts.replicas, hint: 'cluster.replicas' },
    { setting: 'storage', value: 'file', hint: NEVER_DROP },
    { setting: 'max_age', value: 0, hint: NEVER_DROP },
    { setting: 'max_bytes', value: -1, hint: NEVER_DROP },
  ]
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

function check (resource: string, config: StreamConfig, expected: Expected[]): void {
  for (const { setting, value, hint } of expected) {
    const actual = config[setting]
    if (!same(actual, value)) throw new IncompatibleSettingsError(resource, setting, actual, value, hint)
  }
}

async function streamConfig (jsm: JetStreamManager, name: string): Promise<StreamConfig | null> {
  try {
    return (await jsm.streams.info(name)).config
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return null
    throw err
  }
}

/**
 * The config of stream `name`, created by `create` when absent. A create that fails
 * because another node created it meanwhile is fine; any other failure is reported.
 */
async function ensureStream (jsm: JetStreamManager, resource: string, name: string, create: () => Promise<unknown>): Promise<StreamConfig> {
  const existing = await streamConfig(jsm, name)
  if (existing !== null) return existing
  let failure: unknown = null
  await create().catch((err: unknown) => { failure = err })
  const created = await streamConfig(jsm, name)
  if (created !== null) return created
  const reason = failure instanceof Error ? failure.message : 'it is still missing after creating it'
  throw new Error(`cannot create JetStream ${resource}: ${reason} (check cluster.replicas against the number of NATS servers with JetStream)`)
}

/**
 * Creates the stream, the leader bucket and the snapshot store when absent and checks
 * their settings when present (cluster.md §2, §3, §6). Settings are checked after
 * creating too, so a node that raced another one with different options still refuses.
 * Throws IncompatibleSettingsError naming the first setting that differs.
 */
export async function ensureResources (nc: NatsConnection, opts: ClusterResourceOptions): Promise<ClusterResources> {
  // API requests of a node are bounded by its lease: nothing is decided faster while
  // JetStream is electing a stream leader, and a retry sooner sees it back sooner
  const timeout = Math.max(LEASE_API_MIN_TIMEOUT_MS * 2, opts.leaseMs)
  const jsm = await jetstreamManager(nc, { timeout })
  const js = jetstream(nc, { timeout })

  const logResource = `stream "${opts.stream}"`
  const logConfig = await ensureStream(jsm, logResource, opts.stream, async () => {
    const config: Partial<StreamConfig> & { name: string } = { name: opts.stream }
    for (const { setting, value } of logSettings(opts)) (config as Record<string, unknown>)[setting] = value
    await jsm.streams.add(config)
  })
  check(logResource, logConfig, logSettings(opts))

  const kvName = leaderBucket(opts.stream)
  const kvResource = `key-value bucket "${kvName}"`
  // lease reads answer within a renewal interval or not at all: while JetStream recovers
  // from a lost server, short timeouts let followers see an expired lease sooner
  const kvm = new Kvm(jetstream(nc, { timeout: Math.max(LEASE_API_MIN_TIMEOUT_MS, Math.floor(opts.leaseMs / 3)) }))
  const kvConfig = await ensureStream(jsm, kvResource, `KV_${kvName}`,
    () => kvm.create(kvName, { ttl: opts.leaseMs, replicas: opts.replicas, history: 1, storage: 'file' }))
  check(kvResource, kvConfig, leaderSettings(opts))
  const leader = await kvm.open(kvName)

  const objName = snapshotBucket(opts.stream)
  const objResource = `object store "${objName}"`
  const objm = new Objm(js)
  const objConfig = await ensureStream(jsm, objResource, `OBJ_${objName}`,
    () => objm.create(objName, { replicas: opts.replicas, storage: 'file' }))
  check(objResource, objConfig, snapshotSettings(opts))
  const snapshots = await objm.open(objName)

  return { js, jsm, leader, snapshots }
}
