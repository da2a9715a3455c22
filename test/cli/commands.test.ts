import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { startServer } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'
import { ORDER_DEFINITION, runCli } from './helpers.js'

// Every one-shot command, human output (cli.md §3) and --json output (§4), against one server.

const server = await startServer(t)
const env = { RSTMDB_SERVER: server.address }

async function human (...args: string[]): Promise<string> {
  const r = await runCli(args, { env })
  t.equal(r.code, 0, `${args.join(' ')} exits 0 (stderr: ${r.stderr})`)
  return r.stdout
}

/** --json prints exactly one line: the result as compact JSON */
async function json (...args: string[]): Promise<any> {
  const r = await runCli(['--json', ...args], { env })
  t.equal(r.code, 0, `--json ${args.join(' ')} exits 0 (stderr: ${r.stderr})`)
  t.match(r.stdout, /^[^\n]+\n$/, 'one line')
  const value = JSON.parse(r.stdout)
  t.equal(r.stdout, JSON.stringify(value) + '\n', 'compact')
  return value
}

t.test('empty server', async t => {
  t.equal(await human('list-machines'), 'No machines registered\n')
  t.same(await json('list-machines'), { items: [] })
  t.equal(await human('list-instances'), 'No instances\n')
  t.equal(await human('wal-read'), 'No WAL entries\n')
  t.same((await json('wal-read')).records, [])
  t.match(await human('wal-stats'), /^WAL Statistics\n {2}Entries: 0\n {2}Segments: \d+\n {2}Size: \d+ B\n\nI\/O Statistics\n/)
})

t.test('ping and info', async t => {
  t.equal(await human('ping'), 'PONG\n')
  t.same(await json('ping'), { pong: true })
  const text = await human('info')
  const info = JSON.parse(text)
  t.match(info, { server_name: 'rstmdb', protocol_version: 1, max_frame_bytes: 16777216 })
  t.equal(text, JSON.stringify(info, null, 2) + '\n', 'pretty JSON')
  t.match(await json('info'), { server_name: 'rstmdb', max_batch_ops: 100 })
})

t.test('machines', async t => {
  const created = await human('put-machine', '-n', 'order', '-v', '1', ORDER_DEFINITION)
  const checksum = /checksum: ([0-9a-f]{64})\)/.exec(created)?.[1]
  t.equal(created, `Created machine order v1 (checksum: ${String(checksum)})\n`)
  t.equal(await human('put-machine', '--name', 'order', '--version', '1', ORDER_DEFINITION),
    `Already exists machine order v1 (checksum: ${String(checksum)})\n`)
  t.same(await json('put-machine', '-n', 'order', '-v', '1', ORDER_DEFINITION),
    { machine: 'order', version: 1, stored_checksum: checksum, created: false })

  // @file form of <DEFINITION>
  const dir = tempDir(t)
  const file = path.join(dir, 'v2.json')
  fs.writeFileSync(file, JSON.stringify({ states: ['a', 'b'], initial: 'a', transitions: [{ from: 'a', event: 'GO', to: 'b' }] }))
  t.match(await json('put-machine', '-n', 'order', '-v', '2', '@' + file), { machine: 'order', version: 2, created: true })

  const v1 = await human('get-machine', '-n', 'order', '-v', '1')
  t.ok(v1.startsWith('Machine order v1\n{\n  "states": [\n    "created",'), 'header then pretty definition')
  t.same(JSON.parse(v1.slice(v1.indexOf('\n') + 1)).initial, 'created')
  t.match(await human('get-machine', '-n', 'order'), /^Machine order v2\n/, 'latest version without -v')
  t.match(await json('get-machine', '--name', 'order', '--version', '2'),
    { machine: 'order', version: 2, checksum: /^[0-9a-f]{64}$/, definition: { initial: 'a' } })

  t.equal(await human('diagram', '-n', 'order', '--format', 'mermaid'), 'stateDiagram-v2\n' + (await json('diagram', '-n', 'order', '-v', '2', '--format', 'mermaid')).content.slice('stateDiagram-v2\n'.length) + '\n', 'latest version, Mermaid text')
  t.match(await human('diagram', '-n', 'order', '-v', '1', '--format', 'dot', '--highlight', 'paid'), /^digraph /)
  t.match(await human('diagram', '-n', 'order', '-v', '1'), /^<svg /, 'SVG by default')
  const badFormat = await runCli(['diagram', '-n', 'order', '--format', 'png'], { env })
  t.equal(badFormat.code, 1)
  t.match(badFormat.stderr, /BAD_REQUEST/)

  await human('put-machine', '-n', 'alpha', '-v', '3', '{"states":["s"],"initial":"s","transitions":[]}')
  t.equal(await human('list-machines'), '  alpha v3 (1 states, 0 transitions)\n  order v2 (2 states, 1 transitions)\n')
  t.same(await json('list-machines'), { items: [{ machine: 'alpha', versions: [3] }, { machine: 'order', versions: [1, 2] }] })
})

t.test('instances', async t => {
  t.equal(await human('create-instance', '-m', 'order', '-V', '1', '-i', 'o-1', '-c', '{"customer":"alice"}'),
    'Created instance o-1\n  Machine: order v1\n  State: created\n  WAL offset: 4\n')
  const generated = await json('create-instance', '--machine', 'order', '--version', '1')
  t.match(generated, { instance_id: /^[0-9a-f-]{36}$/, state: 'created', wal_offset: 5 })

  const keyed = await json('create-instance', '-m', 'order', '-V', '1', '--id', 'o-2', '--ctx', '{}', '--idempotency-key', 'k1')
  t.same(keyed, { instance_id: 'o-2', state: 'created', wal_offset: 6 })
  t.same(await json('create-instance', '-m', 'order', '-V', '1', '-i', 'o-2', '--idempotency-key', 'k1'), keyed, 'replayed')

  t.equal(await human('get-instance', 'o-1'),
    'Instance o-1\n  Machine: order v1\n  State: created\n  Context: {\n  "customer": "alice"\n}\n  Last WAL offset: 4\n')
  t.match(await json('get-instance', 'o-1'), { machine: 'order', version: 1, state: 'created', ctx: { customer: 'alice' }, last_wal_offset: 4 })

  t.equal(await human('apply-event', '-i', 'o-1', '-e', 'PAY', '-p', '{"amount":5}', '--expected-state', 'created'),
    'Applied event PAY on o-1\n  created → paid\n  WAL offset: 7\n')
  const shipped = await json('apply-event', '--instance', 'o-1', '--event', 'SHIP', '--payload', 'null',
    '--expected-wal-offset', '7', '--event-id', 'evt-9', '--idempotency-key', 'ship-1')
  t.same(shipped, { from_state: 'paid', to_state: 'shipped', ctx: { customer: 'alice', amount: 5 }, wal_offset: 8, applied: true, event_id: 'evt-9' })
  t.match(await json('apply-event', '-i', 'o-1', '-e', 'SHIP', '-p', 'null', '--expected-wal-offset', '7', '--event-id', 'evt-9', '--idempotency-key', 'ship-1'),
    { wal_offset: 8, applied: false }, 'the same request replays')

  t.equal(await human('list-instances', '--machine', 'order', '--limit', '2'),
    `Instances (3 total, showing 2)\n  ${String(generated.instance_id)} (order v1) state=created\n  o-1 (order v1) state=shipped\n`)
  t.equal(await human('list-instances', '--state', 'shipped'), 'Instances (1 total)\n  o-1 (order v1) state=shipped\n')
  t.match(await json('list-instances', '--offset', '1', '--limit', '1'), { total: 3, has_more: true, instances: [{ machine: 'order' }] })

  t.match(await human('snapshot-instance', 'o-1'),
    /^Snapshot snap-\S+ of o-1 at WAL offset 8 \(\d+ B, checksum: [0-9a-f]{64}\)\n$/)
  t.match(await json('snapshot-instance', 'o-1'), { instance_id: 'o-1', wal_offset: 8, size_bytes: Number })

  t.equal(await human('delete-instance', 'o-2'), 'Deleted instance o-2\n')
  t.match(await json('delete-instance', 'o-2', '--idempotency-key', 'd1'), { instance_id: 'o-2', deleted: true, wal_offset: 9 })
})

t.test('wal and compaction', async t => {
  const wal = await human('wal-read', '-f', '4', '-l', '5')
  t.equal(wal, [
    '[     4]            4 | create_instance',
    '         Instance: o-1, Machine: order v1',
    '[     5]            5 | create_instance',
    wal.split('\n')[3],
    '[     6]            6 | create_instance',
    '         Instance: o-2, Machine: order v1',
    '[     7]            7 | apply_event',
    '         Instance: o-1, Event: PAY, created → paid',
    '[     8]            8 | apply_event',
    '         Instance: o-1, Event: SHIP, paid → shipped',
    '',
    'Next offset: 9',
    '',
  ].join('\n'))
  t.match(wal.split('\n')[3], /^ {9}Instance: [0-9a-f-]{36}, Machine: order v1$/)
  t.match(await human('wal-read', '--from', '9'), /^\[ {5}9\] {12}9 \| delete_instance\n\nNext offset: 10\n$/)
  t.equal(await human('wal-read', '--from', '999'), 'No WAL entries\n')
  t.match(await json('wal-read', '--from', '1', '--limit', '1'), { records: [{ sequence: 1, entry: { type: 'put_machine' } }], next_offset: 2 })

  t.match(await human('compact', '-f'), /^Compaction complete\n {2}Snapshots created: \d+\n {2}WAL segments deleted: \d+\n {2}Bytes reclaimed: \d+(\.\d\d [KMG])? ?B\n {2}---\n {2}Total snapshots: \d+\n {2}WAL segments remaining: \d+\n$/)
  t.match(await json('compact', '--force'), { snapshots_created: Number, segments_deleted: Number, bytes_reclaimed: Number, total_snapshots: Number, wal_segments: Number })
  t.match(await json('compact'), { snapshots_created: Number })

  t.match(await human('wal-stats'),
    /^WAL Statistics\n {2}Entries: \d+\n {2}Segments: \d+\n {2}Size: \d+(\.\d\d KB| B)\n {2}Latest offset: 9\n\nI\/O Statistics\n {2}Bytes written: \d+\n {2}Bytes read: \d+\n {2}Writes: \d+\n {2}Reads: \d+\n {2}Fsyncs: \d+\n$/)
  t.match(await json('wal-stats'), { latest_offset: 9, io_stats: { writes: Number } })
})

t.test('unwatch, hash-token and the jsonl wire mode', async t => {
  t.equal(await human('unwatch', 'sub-nope'), 'Warning: subscription sub-nope not found\n')
  t.same(await json('unwatch', 'sub-nope'), { subscription_id: 'sub-nope', removed: false })
  t.equal(await human('hash-token', 'test'), '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n')
  t.same(await json('hash-token', 'test'), { hash: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' })
  t.equal(await human('--wire-mode', 'jsonl', 'get-machine', '-n', 'alpha', '-v', '3').then(s => s.split('\n')[0]), 'Machine alpha v3')

  const verbose = await runCli(['--verbose', '--wire-mode', 'jsonl', 'ping'], { env })
  t.equal(verbose.stdout, 'PONG\n')
  const traced = verbose.stderr.trim().split('\n').map(line => JSON.parse(line))
  t.match(traced, [
    { sent: { op: 'HELLO', params: { protocol_version: 1, client_name: 'rstmdb-cli', wire_modes: ['jsonl'], features: ['idempotency', 'batch'] } } },
    { received: { type: 'response', status: 'ok', result: { wire_mode: 'jsonl' } } },
    { sent: { op: 'PING' } },
    { received: { result: { pong: true } } },
    { sent: { op: 'BYE' } },
    { received: { result: { goodbye: true } } },
  ])
  const binary = await runCli(['--verbose', 'ping'], { env })
  t.match(JSON.parse(binary.stderr.split('\n')[1]), { received: { result: { wire_mode: 'binary_json' } } })
})

t.test('help and version', async t => {
  const help = await runCli(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: rstmdb-cli \[GLOBAL OPTIONS\] \[COMMAND \[ARGS\]\]/)
  for (const name of ['put-machine', 'watch-all', 'snapshot-instance', '--wire-mode', '--insecure']) t.match(help.stdout, name)
  const sub = await runCli(['create-instance', '-h'])
  t.equal(sub.code, 0)
  t.match(sub.stdout, /-V, --version <N>/)
  t.match(sub.stdout, /-i, --id <ID>/)
  const version = await runCli(['-V'])
  t.equal(version.stdout, 'rstmdb-cli 0.1.0\n')
  t.equal((await runCli(['--version'])).stdout, 'rstmdb-cli 0.1.0\n')
})
