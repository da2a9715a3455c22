import t from 'tap'
import { ok, startFakeServer } from '../support/fake-server.js'
import { startServer } from '../support/server.js'
import { finished, ORDER_DEFINITION, runCli, spawnCli, waitForOutput } from './helpers.js'

// watch-instance / watch-all (cli.md §5): events on stdout, status on stderr, exit codes.

const server = await startServer(t)
const env = { RSTMDB_SERVER: server.address }

async function cli (...args: string[]): Promise<void> {
  const r = await runCli(args, { env })
  t.equal(r.code, 0, `${args.join(' ')} (stderr: ${r.stderr})`)
}

t.before(async () => {
  await cli('put-machine', '-n', 'order', '-v', '1', ORDER_DEFINITION)
  await cli('create-instance', '-m', 'order', '-V', '1', '-i', 'w-1', '-c', '{"n":1}')
})

const events = (stdout: string): any[] => stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l))

t.test('watch-instance: live events, --no-ctx, SIGINT exits 0', async t => {
  const watch = spawnCli(['watch-instance', 'w-1', '--no-ctx'], { env })
  const status = await waitForOutput(watch, 'stderr', /Press Ctrl\+C to stop\.\.\.\n/)
  t.match(status, /^Watching instance w-1 \(sub_id: sub-\S+, state: created, wal_offset: 2\)\nPress Ctrl\+C to stop\.\.\.\n$/)
  await cli('apply-event', '-i', 'w-1', '-e', 'PAY', '-p', '{"amount":3}')
  await waitForOutput(watch, 'stdout', /\n/)
  await cli('apply-event', '-i', 'w-1', '-e', 'SHIP')
  await waitForOutput(watch, 'stdout', /\n.*\n/)
  watch.kill('SIGINT')
  const r = await finished(watch)
  t.equal(r.code, 0)
  t.match(r.stderr, /\nStopping watch\.\.\.\n$/)
  const got = events(r.stdout)
  t.match(got, [
    { type: 'event', instance_id: 'w-1', wal_offset: 3, from_state: 'created', to_state: 'paid', event: 'PAY', payload: { amount: 3 } },
    { type: 'event', instance_id: 'w-1', wal_offset: 4, from_state: 'paid', to_state: 'shipped', event: 'SHIP', payload: null },
  ])
  t.notOk('ctx' in got[0], '--no-ctx leaves ctx out')
})

t.test('watch-all --from-offset replays; SIGTERM also exits 0; filters', async t => {
  const watch = spawnCli(['watch-all', '--from-offset', '1', '--events', 'PAY,SHIP', '--from-states', 'created,paid', '--to-states', 'paid,shipped', '--machines', 'order'], { env })
  await waitForOutput(watch, 'stdout', /\n.*\n/)
  // stderr is its own pipe: what the CLI wrote there first may still be on its way
  const status = await waitForOutput(watch, 'stderr', /Press Ctrl\+C/)
  t.match(status, /^Watching all events \(sub_id: sub-\S+, wal_offset: 4\)\n/)
  watch.kill('SIGTERM')
  const r = await finished(watch)
  t.equal(r.code, 0)
  t.match(events(r.stdout), [{ wal_offset: 3, ctx: { n: 1, amount: 3 } }, { wal_offset: 4, event: 'SHIP' }])

  const none = spawnCli(['watch-all', '--from-offset', '0', '--events', 'DELIVER'], { env })
  await waitForOutput(none, 'stderr', /Press Ctrl\+C/)
  await cli('apply-event', '-i', 'w-1', '-e', 'DELIVER')
  await waitForOutput(none, 'stdout', /\n/)
  none.kill('SIGINT')
  const n = await finished(none)
  t.match(events(n.stdout), [{ event: 'DELIVER', wal_offset: 5 }], 'only the matching event')
})

t.test('watch error response: exit 1', async t => {
  const r = await runCli(['watch-instance', 'ghost'], { env })
  t.equal(r.code, 1)
  t.equal(r.stderr, 'Error: server error: INSTANCE_NOT_FOUND - instance not found: ghost\n')
  t.equal(r.stdout, '')
})

t.test('subscription_end: resume hint, exit 1', async t => {
  const own = await startServer(t)
  const watch = spawnCli(['watch-all'], { env: { RSTMDB_SERVER: own.address } })
  await waitForOutput(watch, 'stderr', /Press Ctrl\+C/)
  await own.stop()
  const r = await finished(watch)
  t.equal(r.code, 1)
  t.match(r.stderr, /\nSubscription ended \(shutdown\); resume with --from-offset \d+\n$/)
})

t.test('server closes the connection: exit 1', async t => {
  const address = await startFakeServer(t, (req) => {
    if (req.op === 'HELLO') return [ok(req, { protocol_version: 1, wire_mode: 'binary_json' })]
    return [ok(req, { subscription_id: 'sub-1', wal_offset: 0 }), { type: 'event', subscription_id: 'sub-1', wal_offset: 1, event: 'X' }, 'close']
  })
  const r = await runCli(['watch-all'], { env: { RSTMDB_SERVER: address } })
  t.equal(r.code, 1)
  t.same(events(r.stdout), [{ type: 'event', subscription_id: 'sub-1', wal_offset: 1, event: 'X' }])
  t.match(r.stderr, /Press Ctrl\+C to stop\.\.\.\nConnection closed\n$/)
})

t.test('--lifecycle: creations and deletions too, with their kind', async t => {
  await cli('create-instance', '-m', 'order', '-V', '1', '-i', 'w-2')
  const watch = spawnCli(['watch-all', '--machines', 'order', '--lifecycle', '--no-ctx'], { env })
  await waitForOutput(watch, 'stderr', /Press Ctrl\+C/)
  await cli('create-instance', '-m', 'order', '-V', '1', '-i', 'w-3')
  await cli('apply-event', '-i', 'w-3', '-e', 'PAY')
  await cli('delete-instance', 'w-3')
  await waitForOutput(watch, 'stdout', /\n.*\n.*\n/)
  watch.kill('SIGINT')
  const got = events((await finished(watch)).stdout)
  t.match(got, [
    { type: 'event', kind: 'created', instance_id: 'w-3', to_state: 'created' },
    { type: 'event', instance_id: 'w-3', event: 'PAY', from_state: 'created', to_state: 'paid' },
    { type: 'event', kind: 'deleted', instance_id: 'w-3', from_state: 'paid' },
  ])
  t.notOk('kind' in got[1], 'a transition has no kind')
  t.equal(got.length, 3)
})
