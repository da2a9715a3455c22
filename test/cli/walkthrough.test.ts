import t from 'tap'
import { startServer } from '../support/server.js'
import { finished, ORDER_DEFINITION, runCli, spawnCli, waitForOutput } from './helpers.js'

// The README walkthrough of issue 5, verbatim, against a fresh server.

const server = await startServer(t)
const env = { RSTMDB_SERVER: server.address }
const cli = async (...args: string[]): Promise<string> => {
  const r = await runCli(args, { env })
  t.equal(r.code, 0, `${args[0]} exits 0 (stderr: ${r.stderr})`)
  t.equal(r.stderr, '', `${args[0]} writes nothing to stderr`)
  return r.stdout
}

t.test('walkthrough', async t => {
  t.match(await cli('put-machine', '-n', 'order', '-v', '1', ORDER_DEFINITION),
    /^Created machine order v1 \(checksum: [0-9a-f]{64}\)\n$/)
  t.equal(await cli('create-instance', '-m', 'order', '-V', '1', '-i', 'order-123', '-c', '{"customer": "alice"}'),
    'Created instance order-123\n  Machine: order v1\n  State: created\n  WAL offset: 2\n')
  t.equal(await cli('apply-event', '-i', 'order-123', '-e', 'PAY', '-p', '{"amount": 99.99}'),
    'Applied event PAY on order-123\n  created → paid\n  WAL offset: 3\n')
  t.equal(await cli('apply-event', '-i', 'order-123', '-e', 'SHIP', '-p', '{"carrier": "fedex"}'),
    'Applied event SHIP on order-123\n  paid → shipped\n  WAL offset: 4\n')
  t.equal(await cli('get-instance', 'order-123'), [
    'Instance order-123',
    '  Machine: order v1',
    '  State: shipped',
    '  Context: {',
    '  "customer": "alice",',
    '  "amount": 99.99,',
    '  "carrier": "fedex"',
    '}',
    '  Last WAL offset: 4',
    '',
  ].join('\n'))

  const watch = spawnCli(['watch-all', '--machines', 'order', '--to-states', 'shipped'], { env })
  const status = await waitForOutput(watch, 'stderr', /Press Ctrl\+C to stop\.\.\.\n/)
  t.match(status, /^Watching all events \(sub_id: sub-\S+, wal_offset: 4\)\nPress Ctrl\+C to stop\.\.\.\n$/)

  // a second order goes through; only its move to `shipped` matches the filters
  await cli('create-instance', '-m', 'order', '-V', '1', '-i', 'order-124')
  await cli('apply-event', '-i', 'order-124', '-e', 'PAY')
  await cli('apply-event', '-i', 'order-124', '-e', 'SHIP', '-p', '{"carrier": "ups"}')
  await waitForOutput(watch, 'stdout', /\n/)
  watch.kill('SIGINT')
  const r = await finished(watch)
  t.equal(r.code, 0, 'Ctrl+C ends the watch with exit 0')
  t.match(r.stderr, /\nStopping watch\.\.\.\n$/)
  const lines = r.stdout.split('\n').filter(l => l !== '')
  t.equal(lines.length, 1, 'one event')
  const event = JSON.parse(lines[0])
  t.match(event, {
    type: 'event',
    instance_id: 'order-124',
    machine: 'order',
    version: 1,
    wal_offset: 7,
    from_state: 'paid',
    to_state: 'shipped',
    event: 'SHIP',
    payload: { carrier: 'ups' },
    ctx: { carrier: 'ups' },
  })
  t.equal(lines[0], JSON.stringify(event), 'compact JSON, one line per event')
})
