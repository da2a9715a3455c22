import t from 'tap'
import { clientFor } from '../support/client.js'
import { WALKTHROUGH_ORDER } from '../support/machines.js'
import { startServer } from '../support/server.js'
import { runCli } from '../cli/helpers.js'

/** `rstmdb-cli history` and `get-instance --at` (history.md §2–3): human and --json output, paging flags, errors. */

const server = await startServer(t)
const env = { RSTMDB_SERVER: server.address }
const client = await clientFor(t, server)
await client.putMachine({ machine: 'order', version: 1, definition: WALKTHROUGH_ORDER })
const created = await client.createInstance({ machine: 'order', version: 1, instance_id: 'order-1', initial_ctx: { customer: 'alice' } })
const paid = await client.applyEvent({ instance_id: 'order-1', event: 'PAY', payload: { amount: 5 }, event_id: 'evt-1' })
const shipped = await client.applyEvent({ instance_id: 'order-1', event: 'SHIP' })

async function cli (...args: string[]): Promise<string> {
  const r = await runCli(args, { env })
  t.equal(r.code, 0, `${args.join(' ')} exits 0 (stderr: ${r.stderr})`)
  return r.stdout
}

/** The `at` of each item, as the server stamped it. */
async function times (): Promise<string[]> {
  return (await client.getHistory({ instance_id: 'order-1' })).items.map(i => i.at as string)
}

t.test('history, oldest first, every item on a line', async t => {
  const [a, b, c] = await times()
  t.equal(await cli('history', 'order-1'), [
    'History of order-1 (complete)',
    `  [${String(created.wal_offset).padStart(6)}] ${a} CREATE_INSTANCE order v1 state=created ctx={"customer":"alice"}`,
    `  [${String(paid.wal_offset).padStart(6)}] ${b} APPLY_EVENT PAY (event id evt-1): created → paid payload={"amount":5}`,
    `  [${String(shipped.wal_offset).padStart(6)}] ${c} APPLY_EVENT SHIP: paid → shipped payload=null`,
    '',
  ].join('\n'))
})

t.test('paging flags: --limit, --reverse, --from; the next offset is printed', async t => {
  const page = await cli('history', 'order-1', '--limit', '1', '--reverse')
  t.match(page, new RegExp(`^History of order-1 \\(complete\\)\\n  \\[\\s*${shipped.wal_offset}\\] .* SHIP: paid → shipped payload=null\\n\\nNext offset: ${paid.wal_offset}\\n$`))
  const next = await cli('history', 'order-1', '-l', '1', '-r', '-f', String(paid.wal_offset))
  t.match(next, new RegExp(`\\[\\s*${paid.wal_offset}\\] .* PAY \\(event id evt-1\\)`))
  t.match(next, new RegExp(`Next offset: ${created.wal_offset}\\n$`))
  const json = JSON.parse(await cli('--json', 'history', 'order-1', '--from', String(paid.wal_offset), '--limit', '5'))
  t.same(json, await client.getHistory({ instance_id: 'order-1', from_offset: paid.wal_offset, limit: 5 }), '--json prints the result as it came')
})

t.test('get-instance --at: the instance as it was', async t => {
  t.equal(await cli('get-instance', 'order-1', '--at', String(paid.wal_offset)), [
    `Instance order-1 as of WAL offset ${paid.wal_offset}`,
    '  Machine: order v1',
    '  State: paid',
    '  Context: {\n  "customer": "alice",\n  "amount": 5\n}',
    `  Last WAL offset: ${paid.wal_offset}`,
    '',
  ].join('\n'))
  t.match(JSON.parse(await cli('--json', 'get-instance', 'order-1', '--at', String(created.wal_offset))), { state: 'created', ctx: { customer: 'alice' }, last_wal_offset: created.wal_offset })
})

t.test('errors: the server\'s for offsets and ids, usage for flags', async t => {
  const ahead = await runCli(['get-instance', 'order-1', '--at', '999999'], { env })
  t.equal(ahead.code, 1)
  t.match(ahead.stderr, /^Error: server error: BAD_REQUEST - at_offset 999999 is above the head of the WAL \(\d+\)\n$/)
  const ghost = await runCli(['history', 'ghost'], { env })
  t.equal(ghost.stderr, 'Error: server error: INSTANCE_NOT_FOUND - instance not found: ghost\n')
  const notNumber = await runCli(['history', 'order-1', '--limit', 'ten'], { env })
  t.equal(notNumber.code, 2)
  t.match(notNumber.stderr, /^Error: invalid value 'ten' for -l, --limit: expected a non-negative integer\n/)
  const missing = await runCli(['history'], { env })
  t.match(missing.stderr, /^Error: missing required argument <ID>\n/)
})
