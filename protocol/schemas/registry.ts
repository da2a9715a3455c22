import type { Static, TSchema } from '@sinclair/typebox'
import * as S from './ops.js'

export interface OpSpec {
  params: TSchema
  result: TSchema
  /** true for the engine's write ops: they append WAL records and wait for their commit */
  write: boolean
}

const op = <P extends TSchema, R extends TSchema>(params: P, result: R, write = false) => ({ params, result, write })

/** Every RCP operation (rcp.md §6), with the extensions VALIDATE_MACHINE, GET_DIAGRAM (console.md §1) and those of history.md. */
export const OPS = {
  HELLO: op(S.HelloParams, S.HelloResult),
  AUTH: op(S.AuthParams, S.AuthResult),
  PING: op(S.NoParams, S.PingResult),
  BYE: op(S.NoParams, S.ByeResult),
  INFO: op(S.ReadParams, S.InfoResult),
  PUT_MACHINE: op(S.PutMachineParams, S.PutMachineResult, true),
  GET_MACHINE: op(S.GetMachineParams, S.GetMachineResult),
  LIST_MACHINES: op(S.ReadParams, S.ListMachinesResult),
  CREATE_INSTANCE: op(S.CreateInstanceParams, S.CreateInstanceResult, true),
  GET_INSTANCE: op(S.GetInstanceParams, S.GetInstanceResult),
  LIST_INSTANCES: op(S.ListInstancesParams, S.ListInstancesResult),
  DELETE_INSTANCE: op(S.DeleteInstanceParams, S.DeleteInstanceResult, true),
  APPLY_EVENT: op(S.ApplyEventParams, S.ApplyEventResult, true),
  BATCH: op(S.BatchParams, S.BatchResult, true),
  WATCH_INSTANCE: op(S.WatchInstanceParams, S.WatchInstanceResult),
  WATCH_ALL: op(S.WatchAllParams, S.WatchAllResult),
  UNWATCH: op(S.UnwatchParams, S.UnwatchResult),
  SNAPSHOT_INSTANCE: op(S.InstanceParams, S.SnapshotInstanceResult),
  WAL_READ: op(S.WalReadParams, S.WalReadResult),
  WAL_STATS: op(S.ReadParams, S.WalStatsResult),
  COMPACT: op(S.CompactParams, S.CompactResult),
  VALIDATE_MACHINE: op(S.ValidateMachineParams, S.ValidateMachineResult),
  GET_DIAGRAM: op(S.GetDiagramParams, S.GetDiagramResult),
  GET_HISTORY: op(S.GetHistoryParams, S.GetHistoryResult),
  GET_TRANSITIONS: op(S.GetTransitionsParams, S.GetTransitionsResult),
} satisfies Record<string, OpSpec>

export type OpName = keyof typeof OPS
export const OP_NAMES = Object.keys(OPS) as OpName[]

/** The reads that take `min_offset` (read-your-writes, cluster.md §4); REST sends it as X-Min-Wal-Offset. */
export const MIN_OFFSET_OPS: ReadonlySet<OpName> = new Set(OP_NAMES.filter((op) => 'min_offset' in OPS[op].params.properties))

export function isOpName (value: unknown): value is OpName {
  return typeof value === 'string' && Object.hasOwn(OPS, value)
}

type WithoutNull<T> = { [K in keyof T]: Exclude<T[K], null> }

/** Params as a client may send them: optional params may be left out or null. */
export type OpInput<K extends OpName> = Static<(typeof OPS)[K]['params']>
/** Params as validateParams returns them: optional nulls removed (params with defaults are still typed optional). */
export type OpParams<K extends OpName> = WithoutNull<Static<(typeof OPS)[K]['params']>>
export type OpResult<K extends OpName> = Static<(typeof OPS)[K]['result']>
