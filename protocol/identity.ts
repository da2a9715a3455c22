/** What the server says about itself in HELLO and INFO (rcp.md §6.1, §6.4). */
export const SERVER_NAME = 'rstmdb'
export const SERVER_VERSION = '0.1.0'
export const PROTOCOL_VERSION = 1
/** in server order; HELLO answers the intersection with the client's list in this order */
export const SERVER_FEATURES: readonly string[] = ['idempotency', 'batch', 'wal_read', 'watch_replay', 'diagram', 'history', 'transitions', 'dry_run', 'lifecycle_events']
export const MAX_BATCH_OPS = 100
