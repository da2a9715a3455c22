import t, { type Test } from 'tap'
import { REVIEW } from '../support/machines.js'
import { clientFor, collect, loose, rejected } from '../support/client.js'
import { runCli } from '../cli/helpers.js'
import { call, startGateway, stopGateway } from '../http/helpers.js'

// Dry runs of APPLY_EVENT and BATCH (history.md §5) on RCP and REST: the real answer, nothing written.

const server = await startGateway()
t.teardown(() => stopGateway(server))
const { base } = server
const client = await clientFor(t, server)
await client.putMachine({ machine: 'review', version: 1, definition: REVIEW })
// everything committed, lifecycle included: dry runs must never show up here
const watched = collect(client.watchAll({ include_lifecycle: true }))
await new Promise(resolve => setTimeout(resolve, 0))

/** An answer on either face: a result, or the RCP error (REST: the problem's code, message and details). */
interface Answer { ok: boolean, value: any, walOffset: number, status?: number }

type Op = 'APPLY_EVENT' | 'BATCH'

interface Face {
  name: string
  /** the op, with dry_run as the face passes it (RCP: the param; REST: ?dry_run=true) */
  run: (op: Op, params: Record<string, any>, dry: boolean, headers?: Record<string, string>) => Promise<Answer>
}

const rcp: Face = {
  name: 'RCP',
  async run (op, params, dry) {
    try {
      const { result, meta } = await loose(client).requestWithMeta(op, dry ? { ...params, dry_run: true } : params)
      return { ok: true, value: result, walOffset: meta.wal_offset }
    } catch (err) {
      return { ok: false, value: await rejected(Promise.reject(err)), walOffset: -1 }
    }
  },
}

const rest: Face = {
  name: 'REST',
  async run (op, params, dry, headers = {}) {
    const query = dry ? '?dry_run=true' : ''
    const { instance_id: id, ...body } = params
    const res = op === 'APPLY_EVENT'
      ? await call(base, 'POST', `/v1/instances/${encodeURIComponent(id)}/events${query}`, { json: body, headers })
      : await call(base, 'POST', `/v1/batch${query}`, { json: params, headers })
    const walOffset = Number(res.headers.get('x-wal-offset'))
    if (res.status === 200) return { ok: true, value: res.body, walOffset, status: 200 }
    const { code, detail, retryable, details } = res.body
    return { ok: false, value: { code, message: detail, retryable, ...(details === undefined ? {} : { details }) }, walOffset, status: res.status }
  },
}

async function head (): Promise<number> {
  return (await client.info()).wal_offset
}

async function instance (id: string): Promise<unknown> {
  return await client.getInstance({ instance_id: id }).catch(async err => await rejected(Promise.reject(err)))
}

const withoutMark = (value: any): any => {
  const { dry_run: _dry, ...rest } = value
  return rest
}

/**
 * The dry run first: it must answer what the real call then answers (an ok result only adds
 * dry_run: true; its offsets are those the real call then gets), with meta.wal_offset the head,
 * and change nothing the real call would: the head, the instances it touches.
 */
async function dryThenReal (t: Test, face: Face, op: Op, params: Record<string, any>, touched: string[], headers?: Record<string, string>): Promise<{ dry: Answer, real: Answer }> {
  const headBefore = await head()
  const before = await Promise.all(touched.map(instance))
  const dry = await face.run(op, params, true, headers)
  t.equal(await head(), headBefore, `${face.name}: the dry run wrote nothing`)
  t.same(await Promise.all(touched.map(instance)), before, `${face.name}: the instances are as they were`)
  if (dry.ok) {
    t.equal(dry.value.dry_run, true, 'the answer says it was a dry run')
    t.equal(dry.walOffset, headBefore, 'meta.wal_offset of a dry run is the head')
  }
  const real = await face.run(op, params, false, headers)
  t.equal(dry.ok, real.ok, `${face.name}: the dry run succeeds exactly when the real call does`)
  t.same(dry.ok ? withoutMark(dry.value) : dry.value, real.value, `${face.name}: the same answer as the real call`)
  t.notOk(real.ok && 'dry_run' in real.value, 'the real answer has no dry_run mark')
  if (dry.status !== undefined) t.equal(dry.status, real.status, 'the same HTTP status')
  return { dry, real }
}

let n = 0
async function fresh (ctx: Record<string, unknown>): Promise<string> {
  const id = `d-${++n}`
  await client.createInstance({ machine: 'review', version: 1, instance_id: id, initial_ctx: ctx })
  return id
}

for (const face of [rcp, rest]) {
  t.test(`${face.name}: APPLY_EVENT dry runs answer what the real call then does and write nothing`, async t => {
    const id = await fresh({ score: 70 })
    const { real } = await dryThenReal(t, face, 'APPLY_EVENT', { instance_id: id, event: 'REVIEW', payload: { note: 'x' }, event_id: 'e-1' }, [id])
    t.match(real.value, { from_state: 'submitted', to_state: 'escalated', ctx: { score: 70, note: 'x' }, applied: true, event_id: 'e-1' })

    // the same errors, with the same details
    await dryThenReal(t, face, 'APPLY_EVENT', { instance_id: id, event: 'ARCHIVE' }, [id])
    const locked = await fresh({ score: 10, locked: true })
    const guard = await dryThenReal(t, face, 'APPLY_EVENT', { instance_id: locked, event: 'WITHDRAW' }, [locked])
    t.equal(guard.dry.value.code, 'GUARD_FAILED')
    const conflict = await dryThenReal(t, face, 'APPLY_EVENT', { instance_id: id, event: 'WITHDRAW', expected_state: 'submitted' }, [id])
    t.equal(conflict.dry.value.code, 'CONFLICT')
    t.equal((await dryThenReal(t, face, 'APPLY_EVENT', { instance_id: 'nope', event: 'REVIEW' }, [])).dry.value.code, 'INSTANCE_NOT_FOUND')
    t.equal((await dryThenReal(t, face, 'APPLY_EVENT', { instance_id: id, event: 'WITHDRAW', payload: [1] }, [id])).dry.value.details.field, 'payload')
    const offset = (await client.getInstance({ instance_id: id })).last_wal_offset
    t.equal((await dryThenReal(t, face, 'APPLY_EVENT', { instance_id: id, event: 'WITHDRAW', expected_wal_offset: offset }, [id])).real.value.to_state, 'rejected')
  })

  t.test(`${face.name}: a dry run with an idempotency key stores nothing; a used key answers the replay`, async t => {
    const id = await fresh({ score: 95 })
    const key = `k-${face.name}`
    const first = await dryThenReal(t, face, 'APPLY_EVENT', { instance_id: id, event: 'REVIEW', idempotency_key: key }, [id])
    t.equal(first.real.value.applied, true, 'the key was not stored by the dry run: the real call ran for real')
    const replay = await dryThenReal(t, face, 'APPLY_EVENT', { instance_id: id, event: 'REVIEW', idempotency_key: key }, [id])
    t.same(withoutMark(replay.dry.value), { ...first.real.value, applied: false }, 'a used key: the dry run answers the replay')
    t.equal(replay.dry.walOffset, await head(), 'meta.wal_offset is still the head')
  })

  t.test(`${face.name}: BATCH dry runs, atomic and best_effort, succeeding and failing`, async t => {
    const existing = await fresh({ score: 60 })
    const created = `b-${face.name}-1`
    const atomic = {
      mode: 'atomic',
      ops: [
        { op: 'CREATE_INSTANCE', params: { machine: 'review', version: 1, instance_id: created, initial_ctx: { score: 85 } } },
        { op: 'APPLY_EVENT', params: { instance_id: created, event: 'REVIEW', idempotency_key: `bk-${face.name}` } },
        { op: 'APPLY_EVENT', params: { instance_id: existing, event: 'WITHDRAW' } },
        { op: 'DELETE_INSTANCE', params: { instance_id: existing } },
      ],
    }
    const ok = await dryThenReal(t, face, 'BATCH', atomic, [created, existing])
    t.same(ok.real.value.results.map((r: any) => r.status), ['ok', 'ok', 'ok', 'ok'])

    const failing = {
      mode: 'atomic',
      ops: [
        { op: 'CREATE_INSTANCE', params: { machine: 'review', version: 1, instance_id: `b-${face.name}-2` } },
        { op: 'APPLY_EVENT', params: { instance_id: `b-${face.name}-2`, event: 'ARCHIVE' } },
      ],
    }
    const refused = await dryThenReal(t, face, 'BATCH', failing, [`b-${face.name}-2`])
    t.match(refused.dry.value, { code: 'INVALID_TRANSITION', details: { batch_index: 1, batch_op: 'APPLY_EVENT' } })

    const other = await fresh({ score: 20 })
    const bestEffort = {
      ops: [
        { op: 'APPLY_EVENT', params: { instance_id: other, event: 'REVIEW' } },
        { op: 'APPLY_EVENT', params: { instance_id: other, event: 'REVIEW' } },
        { op: 'CREATE_INSTANCE', params: { machine: 'review', version: 1, instance_id: other } },
      ],
    }
    const mixed = await dryThenReal(t, face, 'BATCH', bestEffort, [other])
    t.same(mixed.real.value.results.map((r: any) => r.error?.code ?? r.status), ['ok', 'INVALID_TRANSITION', 'INSTANCE_EXISTS'])

    // the batch's key was not stored by its dry run either
    const single = await face.run('APPLY_EVENT', { instance_id: created, event: 'REVIEW', idempotency_key: `bk-${face.name}` }, false)
    t.equal(single.value.applied, false, 'the key the real batch stored replays')
  })
}

t.test('REST: If-Match on a dry run works as on the real call', async t => {
  const id = await fresh({ score: 90 })
  const offset = (await client.getInstance({ instance_id: id })).last_wal_offset
  const stale = await dryThenReal(t, rest, 'APPLY_EVENT', { instance_id: id, event: 'REVIEW' }, [id], { 'if-match': `"${offset - 1}"` })
  t.equal(stale.dry.status, 412)
  const matching = await dryThenReal(t, rest, 'APPLY_EVENT', { instance_id: id, event: 'REVIEW' }, [id], { 'if-match': `"${offset}"` })
  t.equal(matching.real.value.to_state, 'approved')
})

t.test('watchers never see a dry run', async t => {
  const marker = await fresh({ score: 1 })
  const markerOffset = (await client.getInstance({ instance_id: marker })).last_wal_offset
  await watched.until(e => e.wal_offset === markerOffset)
  const offsets = watched.events.map(e => e.wal_offset)
  t.same(offsets, [...new Set(offsets)].sort((a, b) => a - b), 'each offset once, in order: no event came from a dry run')
  const wal = await client.walRead({ from_offset: 1, limit: 1000 })
  const instanceRecords = wal.records.filter(r => ['create_instance', 'apply_event', 'delete_instance'].includes(r.entry.type)).map(r => r.sequence)
  t.same(offsets, instanceRecords, 'the events are exactly the committed records')
})

t.test('bad input: dry_run must be a boolean, and only APPLY_EVENT and BATCH take it', async t => {
  const id = await fresh({ score: 90 })
  const headBefore = await head()
  t.same((await rejected(loose(client).request('APPLY_EVENT', { instance_id: id, event: 'REVIEW', dry_run: 'yes' }))).details, { field: 'dry_run' })
  for (const [op, params] of [
    ['CREATE_INSTANCE', { machine: 'review', version: 1, instance_id: 'never' }],
    ['DELETE_INSTANCE', { instance_id: id }],
    ['PUT_MACHINE', { machine: 'never', version: 1, definition: REVIEW }],
  ] as const) {
    const error = await rejected(loose(client).request(op, { ...params, dry_run: true }))
    t.same([error.code, error.details], ['BAD_REQUEST', { field: 'dry_run' }], `${op} refuses dry_run rather than write`)
  }
  const inside = await rejected(loose(client).request('BATCH', { mode: 'atomic', ops: [{ op: 'APPLY_EVENT', params: { instance_id: id, event: 'REVIEW', dry_run: true } }] }))
  t.same(inside.details, { field: 'dry_run', batch_index: 0, batch_op: 'APPLY_EVENT' }, 'a dry run is the whole batch\'s')
  const query = await call(base, 'POST', `/v1/instances/${id}/events?dry_run=maybe`, { json: { event: 'REVIEW' } })
  t.same([query.status, query.body.details], [400, { field: 'dry_run' }])
  const differ = await call(base, 'POST', `/v1/instances/${id}/events?dry_run=true`, { json: { event: 'REVIEW', dry_run: false } })
  t.same([differ.status, differ.body.details], [400, { field: 'dry_run', reason: 'query_body_mismatch' }])
  const batchQuery = await call(base, 'POST', '/v1/batch?dry_run=1x', { json: { ops: [] } })
  t.equal(batchQuery.status, 400)
  t.equal(await head(), headBefore, 'nothing was written')
  const body = await call(base, 'POST', `/v1/instances/${id}/events`, { json: { event: 'REVIEW', dry_run: true } })
  t.equal(body.body.dry_run, true, 'REST also takes dry_run in the body, as RCP does')
  t.ok((await client.info()).features.includes('dry_run'))
})

t.test('rstmdb-cli apply-event --dry-run', async t => {
  const id = await fresh({ score: 75 })
  const env = { RSTMDB_SERVER: server.address, NO_COLOR: '1' }
  const headBefore = await head()
  const human = await runCli(['apply-event', '-i', id, '-e', 'REVIEW', '-p', '{"note":"cli"}', '--dry-run'], { env })
  t.equal(human.code, 0, human.stderr)
  t.equal(human.stdout, [
    `Dry run: event REVIEW on ${id} would apply (nothing written)`,
    '  submitted → escalated',
    '  Context: {',
    '  "score": 75,',
    '  "note": "cli"',
    '}',
    '',
  ].join('\n'))
  const json = await runCli(['--json', 'apply-event', '-i', id, '-e', 'REVIEW', '--dry-run'], { env })
  t.match(JSON.parse(json.stdout), { from_state: 'submitted', to_state: 'escalated', applied: true, dry_run: true })
  const refused = await runCli(['apply-event', '-i', id, '-e', 'ARCHIVE', '--dry-run'], { env })
  t.equal(refused.code, 1)
  t.match(refused.stderr, /INVALID_TRANSITION/)
  t.equal(await head(), headBefore, 'nothing was written')
})
