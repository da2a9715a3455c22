/**
 * The Node SDK of rstmdb: `import { Client } from 'rstmdb'`. See README "SDK".
 */
export { Client, type OpMethods, type Reply, type RequestOptions } from './client.js'
export { ClientError, type ClientErrorBody, type ClientErrorCode } from './errors.js'
export type { ClientOptions, ReconnectOptions, TlsOptions, TraceDirection } from './options.js'
export { Watch, type AnyWatchEvent, type LifecycleEvent, type WatchEvent, type WatchOp } from './watch.js'
export { RcpError, ERROR_CODES, type ErrorCode } from '../../protocol/errors.js'
export { hashToken } from '../../protocol/auth.js'
export type { OpInput, OpName, OpResult } from '../../protocol/schemas/registry.js'
