import { Type } from '@sinclair/typebox'
import {
  Int,
  JsonObject,
  JsonValue,
  MAX_MACHINE_VERSION,
  Name,
  OptionalParam,
  StringList,
  UnixMs,
  WalOffset,
} from './common.js'
import { ErrorBody } from './envelopes.js'
import { MAX_BATCH_OPS } from '../identity.js'

/**
 * Params and result of every RCP operation (rcp.md §6). Params objects allow unknown
 * keys (they are ignored); optional params also accept `null`, which means "absent".
 */

const MachineName = Name('machine name', ['order'])
const InstanceId = Name('instance id', ['order-001'])
const StateName = Name('state name', ['paid'])
const EventName = Name('event name', ['PAY'])
const IdempotencyKey = Name('idempotency key: a repeat of the same request answers the stored result', ['pay-order-001'])
const SubscriptionId = Name('subscription id', ['sub-5f0c2a'])
const Checksum = Type.String({ description: 'lowercase hex SHA-256 of the canonical JSON', examples: ['e26bd76d2d47a0e33a2aa0515665f980072d3734d466edfbee31be3c6c311446'] })
const Version = Int({ description: 'machine version', examples: [1] })
const NewVersion = Int({ minimum: 1, maximum: MAX_MACHINE_VERSION, description: 'machine version, 1 … 4294967295', examples: [1] })
const Ctx = JsonObject('instance context', [{ customer: 'alice', amount: 99.99 }])

export const NoParams = Type.Object({}, { additionalProperties: true, description: 'no params' })
/** history.md §5: a write decided and answered as the real call would be, with nothing written */
const DryRun = OptionalParam(Type.Boolean({ description: 'decide and answer exactly as the real call would, writing, applying and publishing nothing' }))
const DryRunMark = Type.Optional(Type.Boolean({ description: 'true on the answer to a dry run: nothing was written' }))
const params = <T extends Parameters<typeof Type.Object>[0]>(properties: T) =>
  Type.Object(properties, { additionalProperties: true })

/**
 * Read-your-writes on every read (cluster.md §4): the read waits until the node has applied
 * this offset, at most cluster.read_wait_ms, else WAL_IO_ERROR `replica_behind`.
 */
export const MinOffset = OptionalParam(Int({
  description: 'read-your-writes: answer only once this node has applied this WAL offset (e.g. the wal_offset of your last write); waits up to cluster.read_wait_ms, then WAL_IO_ERROR replica_behind',
  examples: [42],
}))
/** The params of a read that takes nothing but `min_offset`. */
export const ReadParams = params({ min_offset: MinOffset })

const DEFINITION_EXAMPLE = {
  states: ['pending', 'paid', 'cancelled'],
  initial: 'pending',
  transitions: [
    { from: 'pending', event: 'PAY', to: 'paid', guard: 'ctx.amount > 0' },
    { from: ['pending', 'paid'], event: 'CANCEL', to: 'cancelled' },
  ],
}

/** Checked in full by the engine (rcp.md §7); here it only has to be an object. */
export const Definition = JsonObject('machine definition: states, initial, transitions (with optional guards) and meta', [DEFINITION_EXAMPLE])

export const NormalizedDefinition = Type.Object({
  states: Type.Array(Type.String()),
  initial: Type.String(),
  transitions: Type.Array(Type.Object({
    from: Type.Array(Type.String()),
    event: Type.String(),
    to: Type.String(),
    guard: Type.Optional(Type.String()),
    meta: Type.Optional(JsonValue('transition metadata')),
  })),
  meta: Type.Optional(JsonValue('definition metadata')),
}, { description: 'normalized definition: `from` is always an array, null guard/meta left out' })

// 6.1 HELLO
export const WIRE_MODES = ['binary_json', 'jsonl'] as const
export const HelloParams = params({
  protocol_version: Type.Integer({ description: 'must be 1 (any other integer is UNSUPPORTED_PROTOCOL)', examples: [1] }),
  client_name: OptionalParam(Type.String({ description: 'informational' })),
  wire_modes: OptionalParam(StringList('"binary_json", "jsonl"; unknown values ignored'), { default: [] }),
  features: OptionalParam(StringList('requested features; unknown values ignored'), { default: [] }),
})
export const HelloResult = Type.Object({
  protocol_version: Type.Integer({ examples: [1] }),
  wire_mode: Type.Union(WIRE_MODES.map((m) => Type.Literal(m))),
  server_name: Type.String({ examples: ['rstmdb'] }),
  server_version: Type.String({ examples: ['0.1.0'] }),
  features: StringList('client features intersected with the server list, in server order'),
})

// 6.2 AUTH
export const AuthParams = params({
  method: Type.String({ description: 'must be "bearer"', examples: ['bearer'] }),
  token: Type.String({ description: 'bearer token' }),
})
export const AuthResult = Type.Object({ authenticated: Type.Boolean() })

// 6.3 PING / BYE
export const PingResult = Type.Object({ pong: Type.Boolean() })
export const ByeResult = Type.Object({ goodbye: Type.Boolean() })

// 6.4 INFO
export const CLUSTER_ROLES = ['leader', 'follower', 'candidate'] as const
export const ClusterInfo = Type.Object({
  node_id: Type.String({ examples: ['rstmdb-1'] }),
  role: Type.Union(CLUSTER_ROLES.map((r) => Type.Literal(r)), { description: 'candidate: campaigning, or a leader whose term entry has not committed yet' }),
  term: Int({ description: 'the leader term this node is in' }),
  leader: Type.Union([Type.Object({
    node_id: Type.String({ examples: ['rstmdb-1'] }),
    rcp_addr: Type.Union([Type.String({ examples: ['10.0.0.5:7401'] }), Type.Null()]),
    http_addr: Type.Union([Type.String({ examples: ['10.0.0.5:8080'] }), Type.Null()]),
    term: Type.Union([Int(), Type.Null()], { description: 'null for the moment between taking the lease and its first renewal' }),
  }), Type.Null()], { description: 'the lease holder, null during an election' }),
  applied_offset: WalOffset('highest offset this node has applied'),
  stream_last_offset: WalOffset('the stream\'s last sequence as last seen'),
}, { description: 'cluster mode only' })
export const InfoResult = Type.Object({
  server_name: Type.String({ examples: ['rstmdb'] }),
  server_version: Type.String({ examples: ['0.1.0'] }),
  protocol_version: Type.Integer({ examples: [1] }),
  features: StringList('every server feature'),
  max_frame_bytes: Int({ examples: [16777216] }),
  max_batch_ops: Int({ examples: [100] }),
  uptime_secs: Int({ description: 'seconds since start' }),
  wal_offset: WalOffset('head'),
  machines: Int({ description: 'registered machine name+version pairs' }),
  instances: Int({ description: 'live instances' }),
  connections: Int({ description: 'open connections on both faces' }),
  cluster: Type.Optional(ClusterInfo),
})

// 6.5 PUT_MACHINE
export const PutMachineParams = params({
  machine: MachineName,
  version: NewVersion,
  definition: Definition,
  checksum: OptionalParam(Type.String({ description: 'expected checksum, compared case-insensitively' })),
})
export const PutMachineResult = Type.Object({
  machine: MachineName,
  version: NewVersion,
  stored_checksum: Checksum,
  created: Type.Boolean({ description: 'false when the identical version already existed' }),
})

// 6.6 GET_MACHINE
export const GetMachineParams = params({
  machine: MachineName,
  version: OptionalParam(Int({ description: 'left out: the highest registered version', examples: [1] })),
  min_offset: MinOffset,
})
export const GetMachineResult = Type.Object({
  definition: NormalizedDefinition,
  checksum: Checksum,
  machine: MachineName,
  version: NewVersion,
})

// 6.7 LIST_MACHINES
export const ListMachinesResult = Type.Object({
  items: Type.Array(Type.Object({
    machine: MachineName,
    versions: Type.Array(NewVersion, { description: 'ascending' }),
  }), { description: 'sorted by name' }),
})

// 6.8 CREATE_INSTANCE
export const CreateInstanceParams = params({
  machine: MachineName,
  version: Version,
  instance_id: OptionalParam(Name('instance id; a random lowercase UUID v4 when left out', ['order-001'])),
  initial_ctx: OptionalParam(JsonObject('initial context', [{ customer: 'alice' }]), { default: {} }),
  idempotency_key: OptionalParam(IdempotencyKey),
})
export const CreateInstanceResult = Type.Object({
  instance_id: InstanceId,
  state: StateName,
  wal_offset: WalOffset('offset of the create_instance record'),
})

// 6.9 GET_INSTANCE
export const InstanceParams = params({ instance_id: InstanceId })
export const GetInstanceParams = params({
  instance_id: InstanceId,
  at_offset: OptionalParam(Int({ description: 'the instance as it was right after this WAL offset (at most the head); left out: as it is now' })),
  min_offset: MinOffset,
})
export const GetInstanceResult = Type.Object({
  machine: MachineName,
  version: Version,
  state: StateName,
  ctx: Ctx,
  last_event_id: Type.Optional(Name('event_id of the last event; left out when none', ['evt-1'])),
  last_wal_offset: WalOffset('offset of the last record that changed the instance'),
  instance_id: InstanceId,
  created_at: UnixMs('creation time'),
  updated_at: UnixMs('last change time'),
})

// 6.10 LIST_INSTANCES
export const ListInstancesParams = params({
  machine: OptionalParam(MachineName),
  state: OptionalParam(StateName),
  limit: OptionalParam(Int({ description: 'rows wanted; above 1000 clamped to 1000; 0 returns none' }), { default: 100 }),
  offset: OptionalParam(Int({ description: 'rows to skip' }), { default: 0 }),
  after: OptionalParam(Name('keyset cursor: only ids greater than this', ['order-001'])),
  min_offset: MinOffset,
})
export const ListInstancesResult = Type.Object({
  instances: Type.Array(Type.Object({
    id: InstanceId,
    machine: MachineName,
    version: Version,
    state: StateName,
    created_at: UnixMs('creation time'),
    updated_at: UnixMs('last change time'),
    last_wal_offset: WalOffset('offset of the last record that changed the instance'),
  }), { description: 'sorted by id' }),
  total: Int({ description: 'matching rows' }),
  has_more: Type.Boolean(),
  next_after: Type.Optional(Type.Union([InstanceId, Type.Null()], { description: 'cursor for the next page; null when has_more is false' })),
})

// 6.11 DELETE_INSTANCE
export const DeleteInstanceParams = params({
  instance_id: InstanceId,
  idempotency_key: OptionalParam(IdempotencyKey),
})
export const DeleteInstanceResult = Type.Object({
  instance_id: InstanceId,
  deleted: Type.Boolean(),
  wal_offset: WalOffset('offset of the delete_instance record'),
})

// 6.12 APPLY_EVENT
export const ApplyEventParams = params({
  instance_id: InstanceId,
  event: EventName,
  payload: OptionalParam(JsonObject('shallow-merged into ctx', [{ amount: 99.99 }])),
  expected_state: OptionalParam(StateName),
  expected_wal_offset: OptionalParam(Int({ description: 'must equal the instance last_wal_offset' })),
  event_id: OptionalParam(Name('stored as last_event_id', ['evt-1'])),
  idempotency_key: OptionalParam(IdempotencyKey),
  dry_run: DryRun,
})
export const ApplyEventResult = Type.Object({
  from_state: StateName,
  to_state: StateName,
  ctx: Ctx,
  wal_offset: WalOffset('offset of the apply_event record (a dry run: the offset it would get if written now)'),
  applied: Type.Boolean({ description: 'false for an idempotent replay' }),
  event_id: Type.Optional(Name('the request event_id', ['evt-1'])),
  dry_run: DryRunMark,
})

// 6.13 BATCH
export const BATCH_OPS = ['CREATE_INSTANCE', 'APPLY_EVENT', 'DELETE_INSTANCE'] as const
export const BATCH_MODES = ['best_effort', 'atomic'] as const
export const BatchParams = params({
  mode: OptionalParam(Type.Union(BATCH_MODES.map((m) => Type.Literal(m))), { default: 'best_effort' }),
  ops: Type.Array(Type.Object({
    op: Type.Union(BATCH_OPS.map((o) => Type.Literal(o))),
    params: JsonObject('the op params'),
  }, { additionalProperties: true }), {
    maxItems: MAX_BATCH_OPS,
    description: 'at most 100 ops',
    examples: [[{ op: 'APPLY_EVENT', params: { instance_id: 'order-001', event: 'PAY' } }]],
  }),
  dry_run: DryRun,
})
export const BatchResult = Type.Object({
  results: Type.Array(Type.Union([
    Type.Object({ status: Type.Literal('ok'), result: JsonObject('the op result'), error: Type.Null() }),
    Type.Object({ status: Type.Literal('error'), result: Type.Null(), error: ErrorBody }),
  ]), { description: 'one per op, in op order' }),
  dry_run: DryRunMark,
})

// 6.14 WATCH_INSTANCE
const IncludeCtx = OptionalParam(Type.Boolean({ description: 'include ctx in events' }), { default: true })
const FromOffset = OptionalParam(Int({ description: 'replay from this offset (inclusive); left out: live only' }))
const IncludeLifecycle = OptionalParam(Type.Boolean({ description: 'also deliver instance creations and deletions (events with a `kind`), in offset order with the transitions' }))
export const WatchInstanceParams = params({
  instance_id: InstanceId,
  include_ctx: IncludeCtx,
  from_offset: FromOffset,
  include_lifecycle: IncludeLifecycle,
})
export const WatchInstanceResult = Type.Object({
  subscription_id: SubscriptionId,
  instance_id: InstanceId,
  current_state: StateName,
  current_wal_offset: WalOffset('the instance last_wal_offset'),
})

// 6.15 WATCH_ALL
const Filter = (what: string, item: ReturnType<typeof Name>) =>
  OptionalParam(StringList(`${what}; empty matches everything`, item), { default: [] })
export const WatchAllParams = params({
  machines: Filter('machine names', MachineName),
  from_states: Filter('from states', StateName),
  to_states: Filter('to states', StateName),
  events: Filter('event names', EventName),
  include_ctx: IncludeCtx,
  from_offset: FromOffset,
  include_lifecycle: IncludeLifecycle,
})
export const WatchAllResult = Type.Object({
  subscription_id: SubscriptionId,
  wal_offset: WalOffset('head when the subscription was made'),
})

// 6.16 UNWATCH
export const UnwatchParams = params({ subscription_id: SubscriptionId })
export const UnwatchResult = Type.Object({
  subscription_id: SubscriptionId,
  removed: Type.Boolean({ description: 'false when not an active subscription of this connection' }),
})

// 6.17 SNAPSHOT_INSTANCE
export const SnapshotInstanceResult = Type.Object({
  instance_id: InstanceId,
  snapshot_id: Type.String({ examples: ['snap-8d1e'] }),
  wal_offset: WalOffset('the instance last_wal_offset'),
  size_bytes: Int(),
  checksum: Checksum,
})

// 6.18 WAL_READ
export const WalReadParams = params({
  from_offset: Int({ description: 'first offset wanted (inclusive)', examples: [1] }),
  limit: OptionalParam(Int({ minimum: 1, description: 'at most this many records; above 1000 clamped to 1000' }), { default: 100 }),
  min_offset: MinOffset,
})
export const WalReadResult = Type.Object({
  records: Type.Array(Type.Object({
    sequence: WalOffset('record sequence'),
    offset: WalOffset('same as sequence'),
    entry: Type.Object({ type: Type.String({ examples: ['apply_event'] }) }, { additionalProperties: true, description: 'the stored WAL entry, as written' }),
  })),
  next_offset: Type.Union([WalOffset('last returned + 1'), Type.Null()]),
  earliest_offset: WalOffset('oldest retained record, or head+1 when none'),
  head_offset: WalOffset('head'),
})

// 6.19 WAL_STATS
export const WalStatsResult = Type.Object({
  entry_count: Int({ description: 'records kept in WAL segments' }),
  segment_count: Int(),
  total_size_bytes: Int(),
  latest_offset: Type.Union([WalOffset('head'), Type.Null()], { description: 'null when the head is 0' }),
  io_stats: Type.Object({
    bytes_written: Int(),
    bytes_read: Int(),
    writes: Int(),
    reads: Int(),
    fsyncs: Int(),
  }),
  earliest_offset: WalOffset('oldest retained record, or head+1 when none'),
  fsync_policy: Type.String({ examples: ['every_write', 'every_n:100', 'every_ms:50', 'never'] }),
})

// 6.20 COMPACT
export const CompactParams = params({
  force_snapshot: OptionalParam(Type.Boolean({ description: 'write a full snapshot even when no segment can go' }), { default: false }),
})
export const CompactResult = Type.Object({
  snapshots_created: Int(),
  segments_deleted: Int(),
  bytes_reclaimed: Int(),
  total_snapshots: Int(),
  wal_segments: Int(),
})

// 6.21 VALIDATE_MACHINE
export const ValidateMachineParams = params({ definition: Definition })
export const ValidateMachineResult = Type.Object({
  valid: Type.Boolean(),
  checksum: Checksum,
  normalized: NormalizedDefinition,
})

// GET_DIAGRAM (Extension, console.md §1)
export const DIAGRAM_FORMATS = ['svg', 'mermaid', 'dot'] as const
export const GetDiagramParams = params({
  machine: MachineName,
  version: OptionalParam(Int({ description: 'left out: the highest registered version', examples: [1] })),
  format: OptionalParam(Type.Union(DIAGRAM_FORMATS.map((f) => Type.Literal(f)), { description: 'svg (laid out, the default), mermaid (stateDiagram-v2) or dot (Graphviz)' }), { default: 'svg' }),
  highlight: OptionalParam(Name('a state of the machine to mark', ['paid'])),
  min_offset: MinOffset,
})
export const GetDiagramResult = Type.Object({
  format: Type.Union(DIAGRAM_FORMATS.map((f) => Type.Literal(f))),
  content: Type.String({ description: 'the diagram: an SVG document, Mermaid or DOT source' }),
  machine: MachineName,
  version: NewVersion,
  checksum: Checksum,
})

// GET_HISTORY (Extension, history.md §2)
export const HISTORY_MAX_LIMIT = 1000
export const GetHistoryParams = params({
  instance_id: InstanceId,
  from_offset: OptionalParam(Int({ description: 'ascending: the lowest offset to include; reverse: the highest (at most the head). Left out: the oldest kept entry, or with reverse the newest' })),
  limit: OptionalParam(Int({ minimum: 1, description: `items wanted, at least 1; above ${HISTORY_MAX_LIMIT} clamped to ${HISTORY_MAX_LIMIT}` }), { default: 100 }),
  reverse: OptionalParam(Type.Boolean({ description: 'newest first' }), { default: false }),
  min_offset: MinOffset,
})
const HistoryAt = Type.Optional(Type.String({ description: 'when the entry was made (ISO 8601, UTC); left out for entries written without a time (by the original server)', examples: ['2025-01-15T10:30:00.123Z'] }))
const HistoryOffset = WalOffset('offset of the entry')
export const HistoryItem = Type.Union([
  Type.Object({
    wal_offset: HistoryOffset,
    type: Type.Literal('CREATE_INSTANCE'),
    at: HistoryAt,
    machine: MachineName,
    version: Version,
    state: StateName,
    ctx: Ctx,
  }, { description: 'the creation: initial state and ctx' }),
  Type.Object({
    wal_offset: HistoryOffset,
    type: Type.Literal('APPLY_EVENT'),
    at: HistoryAt,
    event: EventName,
    from_state: StateName,
    to_state: StateName,
    payload: Type.Union([JsonObject('the event payload', [{ amount: 99.99 }]), Type.Null()]),
    event_id: Type.Optional(Name('the event_id given, left out when none', ['evt-1'])),
  }, { description: 'an event applied' }),
  Type.Object({
    wal_offset: HistoryOffset,
    type: Type.Literal('DELETE_INSTANCE'),
    at: HistoryAt,
  }, { description: 'the deletion (the tombstone): always the last item' }),
])
export const GetHistoryResult = Type.Object({
  instance_id: InstanceId,
  items: Type.Array(HistoryItem, { description: 'committed entries of the instance, oldest first (newest first with reverse)' }),
  next_offset: Type.Union([WalOffset('from_offset for the next page in the same direction'), Type.Null()], { description: 'null when there is nothing more in that direction' }),
  earliest_offset: WalOffset('offset of the oldest kept entry of the instance (the oldest offset the WAL keeps, when none of it is kept)'),
  complete: Type.Boolean({ description: 'false once older entries of the instance were dropped by compaction (storage.history_retention_secs)' }),
})

// GET_TRANSITIONS (history.md §4)
export const GetTransitionsParams = params({ instance_id: InstanceId, min_offset: MinOffset })
export const GetTransitionsResult = Type.Object({
  instance_id: InstanceId,
  state: StateName,
  wal_offset: WalOffset('the instance last_wal_offset: the answer holds for this version of it (If-Match, expected_wal_offset)'),
  transitions: Type.Array(Type.Object({
    event: EventName,
    to: StateName,
    guard: Type.Optional(Type.String({ description: 'the guard expression; left out when the transition has none', examples: ['ctx.amount > 0'] })),
    guard_passes: Type.Union([Type.Boolean(), Type.Null()], { description: 'the guard evaluated on the current ctx; null without a guard' }),
    meta: Type.Optional(JsonValue('transition metadata')),
    taken: Type.Boolean({ description: 'true on the transition APPLY_EVENT would take for this event now' }),
  }), { description: 'every transition from the current state, in definition order' }),
})
