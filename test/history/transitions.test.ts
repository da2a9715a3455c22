import t from 'tap'
import { REVIEW } from '../support/machines.js'
import { clientFor, loose, rejected } from '../support/client.js'
import { prng } from '../support/prng.js'
import { runCli } from '../cli/helpers.js'
import { call, isProblem, startGateway, stopGateway } from '../http/helpers.js'

// GET_TRANSITIONS (history.md §4) on RCP, REST and the CLI, against one real server.

const server = await startGateway()
t.teardown(() => stopGateway(server))
const { base } = server
const client = await clientFor(t, server)
await client.putMachine({ machine: 'review', version: 1, definition: REVIEW })

const path = (id: string): string => `/v1/instances/${encodeURIComponent(id)}/transitions`

t.test('every transition from the current state in definition order, guards on the current ctx, the pick marked taken', async t => {
  const created = await client.createInstance({ machine: 'review', version: 1, instance_id: 'r-90', initial_ctx: { score: 90 } })
  const expected = {
    instance_id: 'r-90',
    state: 'submitted',
    wal_offset: created.wal_offset,
    transitions: [
      { event: 'REVIEW', to: 'approved', guard: 'ctx.score >= 80', guard_passes: true, meta: { ui: 'green' }, taken: true },
      { event: 'REVIEW', to: 'escalated', guard: 'ctx.score >= 50', guard_passes: true, taken: false },
      { event: 'REVIEW', to: 'rejected', guard_passes: null, taken: false },
      { event: 'WITHDRAW', to: 'rejected', guard: 'ctx.locked != true', guard_passes: true, taken: true },
    ],
  }
  t.same(await client.getTransitions({ instance_id: 'r-90' }), expected, 'RCP')
  const { meta } = await loose(client).requestWithMeta('GET_TRANSITIONS', { instance_id: 'r-90' })
  t.equal(meta.wal_offset, (await client.info()).wal_offset, 'meta.wal_offset is the head, as for any read')

  const rest = await call(base, 'GET', path('r-90'))
  t.equal(rest.status, 200)
  t.same(rest.body, expected, 'REST: the RCP result as the body')
  t.equal(rest.headers.get('etag'), `"${created.wal_offset}"`, 'ETag: the instance version the answer holds for')
  const again = await call(base, 'GET', path('r-90'), { headers: { 'if-none-match': `"${created.wal_offset}"` } })
  t.equal(again.status, 304)

  await client.createInstance({ machine: 'review', version: 1, instance_id: 'r-60', initial_ctx: { score: 60, locked: true } })
  t.same((await client.getTransitions({ instance_id: 'r-60' })).transitions.map(x => [x.to, x.guard_passes, x.taken]), [
    ['approved', false, false],
    ['escalated', true, true],
    ['rejected', null, false],
    ['rejected', false, false],
  ], 'a failing guard is skipped for the next candidate; an event whose guards all fail has no pick')
  const paid = await client.applyEvent({ instance_id: 'r-60', event: 'REVIEW' })
  t.equal(paid.to_state, 'escalated')
  const after = await call(base, 'GET', path('r-60'), { headers: { 'if-none-match': `"${String(created.wal_offset)}"` } })
  t.equal(after.status, 200, 'a new version: a new answer')
  t.same(after.body.transitions, [
    { event: 'WITHDRAW', to: 'rejected', guard: 'ctx.locked != true', guard_passes: false, taken: false },
    { event: 'REVIEW', to: 'approved', guard: 'ctx.manager == true', guard_passes: false, taken: false },
  ], 'definition order, not event order')
  t.equal(after.body.wal_offset, paid.wal_offset)
})

t.test('taken is exactly what APPLY_EVENT then does, for each event, over random contexts and both states with exits', async t => {
  const random = prng(13)
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]
  let checked = 0
  for (let i = 0; i < 40; i++) {
    const ctx = { score: Math.floor(random() * 101), locked: random() < 0.4, manager: random() < 0.5 }
    const escalate = random() < 0.4
    for (const event of ['REVIEW', 'WITHDRAW', 'ARCHIVE']) {
      const id = `p-${i}-${event}`
      await client.createInstance({ machine: 'review', version: 1, instance_id: id, initial_ctx: escalate ? { ...ctx, score: 60 } : ctx })
      if (escalate) await client.applyEvent({ instance_id: id, event: 'REVIEW' })
      const rest = pick([true, false])
      const listing = rest ? (await call(base, 'GET', path(id))).body : await client.getTransitions({ instance_id: id })
      const candidates = listing.transitions.filter((x: any) => x.event === event)
      const taken = candidates.filter((x: any) => x.taken === true)
      t.ok(taken.length <= 1, 'at most one pick per event')
      const applied = rest
        ? await call(base, 'POST', `/v1/instances/${id}/events`, { json: { event } })
        : await client.applyEvent({ instance_id: id, event }).then(body => ({ status: 200, body }), async err => ({ status: 0, body: await rejected(Promise.reject(err)) }))
      const outcome = applied.status === 200 ? applied.body.to_state : applied.body.code
      if (taken.length === 1) {
        t.equal(outcome, taken[0].to, `${id}: APPLY_EVENT takes the marked transition`)
        t.equal(taken[0].guard_passes === false, false, 'a taken transition never has a failing guard')
        const before = candidates.slice(0, candidates.indexOf(taken[0]))
        t.ok(before.every((x: any) => x.guard_passes === false), 'every candidate before it fails its guard')
      } else if (candidates.length > 0) {
        t.equal(outcome, 'GUARD_FAILED', `${id}: no pick, GUARD_FAILED`)
        t.ok(candidates.every((x: any) => x.guard_passes === false))
      } else {
        t.equal(outcome, 'INVALID_TRANSITION', `${id}: not listed, INVALID_TRANSITION`)
      }
      checked++
    }
  }
  t.equal(checked, 120)
})

t.test('no way out lists nothing; unknown and deleted instances are INSTANCE_NOT_FOUND; bad params are BAD_REQUEST', async t => {
  await client.createInstance({ machine: 'review', version: 1, instance_id: 'done', initial_ctx: { score: 99 } })
  await client.applyEvent({ instance_id: 'done', event: 'REVIEW' })
  t.same((await client.getTransitions({ instance_id: 'done' })).transitions, [], 'approved has no transitions')

  t.same(await rejected(client.getTransitions({ instance_id: 'nope' })),
    { code: 'INSTANCE_NOT_FOUND', message: 'instance not found: nope', retryable: false, details: { instance_id: 'nope' } })
  await client.deleteInstance({ instance_id: 'done' })
  t.equal((await rejected(client.getTransitions({ instance_id: 'done' }))).code, 'INSTANCE_NOT_FOUND', 'a tombstone is not found')
  const missing = await call(base, 'GET', path('done'))
  t.equal(missing.status, 404)
  t.ok(isProblem(missing.body, 404, 'INSTANCE_NOT_FOUND'))

  t.equal((await rejected(loose(client).request('GET_TRANSITIONS', {}))).details.field, 'instance_id')
  t.equal((await rejected(loose(client).request('GET_TRANSITIONS', { instance_id: 7 }))).details.field, 'instance_id')
  t.equal((await rejected(loose(client).request('GET_TRANSITIONS', { instance_id: 'x'.repeat(257) }))).details.field, 'instance_id')
  const long = await call(base, 'GET', path('x'.repeat(257)))
  t.equal(long.status, 400)
  t.equal(long.body.details.field, 'id', 'the path parameter is named')
  const batched = await rejected(loose(client).request('BATCH', { ops: [{ op: 'GET_TRANSITIONS', params: { instance_id: 'r-90' } }] }))
  t.same(batched.details, { field: 'ops[0].op', batch_index: 0 }, 'not a batch op')
  t.equal((await call(base, 'POST', path('r-90'))).status, 405, 'GET only')
})

t.test('HELLO and INFO list the transitions feature', async t => {
  t.ok((await client.info()).features.includes('transitions'))
})

t.test('rstmdb-cli transitions: * marks the pick, guards say whether they pass; --json prints the result', async t => {
  await client.createInstance({ machine: 'review', version: 1, instance_id: 'cli-1', initial_ctx: { score: 55, locked: true } })
  const env = { RSTMDB_SERVER: server.address, NO_COLOR: '1' }
  const human = await runCli(['transitions', 'cli-1'], { env })
  t.equal(human.code, 0, human.stderr)
  const offset = (await client.getInstance({ instance_id: 'cli-1' })).last_wal_offset
  t.equal(human.stdout, [
    `Instance cli-1 in state submitted (last WAL offset ${offset})`,
    '    REVIEW → approved  if ctx.score >= 80: fails',
    '  * REVIEW → escalated  if ctx.score >= 50: passes',
    '    REVIEW → rejected',
    '    WITHDRAW → rejected  if ctx.locked != true: fails',
    '',
  ].join('\n'))
  const json = await runCli(['--json', 'transitions', 'cli-1'], { env })
  t.same(JSON.parse(json.stdout), await client.getTransitions({ instance_id: 'cli-1' }))
  const unknown = await runCli(['transitions', 'nope'], { env })
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /^Error: server error: INSTANCE_NOT_FOUND - instance not found: nope/)
  const usage = await runCli(['transitions'], { env })
  t.equal(usage.code, 2, 'the id is required')
})
