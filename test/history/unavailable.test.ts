import t from 'tap'
import { DEFAULT_COMPACTION } from '../../src/config/schema.js'
import { createEngine } from '../../src/engine/index.js'
import { createCompactor, createDispatcher } from '../../src/ops/index.js'
import { openStorage, silentLogger } from '../../storage/index.js'
import { rejected } from '../support/client.js'
import { ORDER } from '../support/machines.js'
import { tempDir } from '../support/temp-dir.js'

/**
 * A dispatcher given no HistorySource (a log that cannot serve history yet, as the cluster's
 * stream before it does) refuses GET_HISTORY and at_offset with a reason and does not list the
 * feature; everything else works as before.
 */

t.test('without a history source: refused with a reason, and not listed', async t => {
  const engine = createEngine()
  const storage = await openStorage({ dataDir: tempDir(t), segmentSizeBytes: 1024 * 1024, fsyncPolicy: { kind: 'never' }, skipCorruptRecords: false, target: { restore () {}, apply () {} } })
  t.teardown(() => storage.close())
  const compactor = createCompactor(engine, storage, { ...DEFAULT_COMPACTION, enabled: false }, silentLogger, Date.now)
  const { dispatch, features } = createDispatcher({ engine, storage, compactor, now: Date.now, readWaitMs: 0 })
  await dispatch('PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await dispatch('CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'o-1' })

  t.notOk(features.includes('history'))
  t.same((await dispatch('INFO', {})).result.features, [...features])
  t.match(await rejected(dispatch('GET_HISTORY', { instance_id: 'o-1' })), { code: 'BAD_REQUEST', details: { reason: 'history_unavailable', op: 'GET_HISTORY' } })
  t.match(await rejected(dispatch('GET_INSTANCE', { instance_id: 'o-1', at_offset: 2 })), { code: 'BAD_REQUEST', details: { reason: 'history_unavailable', op: 'GET_INSTANCE' } })
  t.match((await dispatch('GET_INSTANCE', { instance_id: 'o-1' })).result, { state: 'pending' }, 'GET_INSTANCE without at_offset is served')

  const withHistory = createDispatcher({ engine, storage, compactor, history: storage, now: Date.now, readWaitMs: 0 })
  t.ok(withHistory.features.includes('history'))
  t.equal((await withHistory.dispatch('GET_HISTORY', { instance_id: 'o-1' })).result.items.length, 1)
})
