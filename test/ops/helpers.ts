import { DEFAULT_COMPACTION, DEFAULT_STORAGE } from '../../src/config/schema.js'
import { openDatabase } from '../../src/ops/index.js'
import type { Database, DatabaseOptions } from '../../src/ops/index.js'
import type { JsonObject } from '../../protocol/entries.js'
import type { OpName } from '../../protocol/schemas.js'

export async function openDb (dataDir: string, extra: Omit<Partial<DatabaseOptions>, 'storage' | 'compaction'> & { storage?: Partial<DatabaseOptions['storage']>, compaction?: Partial<DatabaseOptions['compaction']> } = {}): Promise<Database> {
  return await openDatabase({
    ...extra,
    storage: { ...DEFAULT_STORAGE, data_dir: dataDir, ...extra.storage },
    compaction: { ...DEFAULT_COMPACTION, enabled: false, ...extra.compaction },
  })
}

/** dispatch returning just the result */
export async function call (db: Database, op: OpName, params: JsonObject = {}): Promise<JsonObject> {
  return (await db.dispatch(op, params)).result as JsonObject
}
