import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { completeCommand } from '../../src/cli/repl.js'
import { startServer } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'
import { finished, ORDER_DEFINITION, runCli, spawnCli, waitForOutput } from './helpers.js'

// The REPL (cli.md §7) driven through its stdin.

const server = await startServer(t)
const env = { RSTMDB_SERVER: server.address }

t.test('a session through a pipe', async t => {
  const home = tempDir(t, 'rstmdb-cli-home-')
  fs.writeFileSync(path.join(home, '.rstmdb_history'), 'old-command\n')
  const lines = [
    'help',
    'PING',
    ' ping',
    `pm order 1 ${ORDER_DEFINITION.replace('"initial"', ' "initial"')}`,
    `put-machine -n order -v 1 '${ORDER_DEFINITION.replace(/,/g, ', ')}'`,
    'gm order 1',
    'lm',
    'c order 1 r-1 {"who":"bob"}',
    'create order',
    'g r-1',
    'a r-1 PAY {"amount":1}',
    'apply r-1 PAY',
    'li',
    'list-instances --machine order --state paid',
    'wal 1 2',
    'ws',
    'create-instance -m order -V 1 -i "r 2" -c \'{"who": "ann lee"}\'',
    'get-instance "r 2"',
    'apply-event -i "r 2" -e PAY -p \'{"amount": 2}\' --expected-state created',
    'create-instance -m order -V x',
    'get-instance',
    'gm order',
    'help apply-event',
    'apply-event -i \'unterminated',
    'repl',
    'hash-token test',
    'snapshot-instance r-1',
    'compact --force',
    'd r-1',
    'get',
    'frobnicate now',
    'c order x',
    'rc',
    'info',
    'quit',
    'ping',
  ]
  const r = await runCli([], { env: { ...env, HOME: home }, input: lines.join('\n') + '\n' })
  t.equal(r.code, 0)
  t.equal(r.stderr, '')
  const out = r.stdout
  t.ok(out.startsWith(`rstmdb CLI\nConnecting to ${server.address}...\nConnected!\nType 'help' for available commands.\n\nrstmdb> `), 'banner and prompt')
  t.match(out, /Available commands:\n {2}help, \? \[command\]/)
  t.match(out, /Every rstmdb-cli command[\s\S]* {2}watch-all +stream the events/, 'help lists the CLI commands')
  t.match(out, /rstmdb> PONG\n\nrstmdb> PONG\n\n/, 'case-insensitive, and a leading space still runs')
  t.match(out, /rstmdb> Created order v1 \(checksum: [0-9a-f]{64}\)\n\nrstmdb> Already exists machine order v1 \(checksum: [0-9a-f]{64}\)\n/, 'pm joins the json words; put-machine takes the CLI flags and a quoted JSON with spaces')
  t.match(out, /rstmdb> {\n {2}"states": \[\n {4}"created",/)
  t.match(out, /rstmdb> {3}order v1 \(4 states, 3 transitions\)\n/)
  t.match(out, /rstmdb> Created r-1 \(state: created, offset: 2\)\n/)
  t.match(out, /rstmdb> Usage: create <machine> <version> \[instance_id\] \[ctx_json\]\n/)
  t.match(out, /rstmdb> order v1\n {2}State: created\n {2}Context: {\n {2}"who": "bob"\n}\n/)
  t.match(out, /rstmdb> PAY created → paid \(offset: 3\)\n/)
  t.match(out, /rstmdb> Error: server error: INVALID_TRANSITION - .+\n\n/)
  t.match(out, /rstmdb> Instances \(1 total\)\n {2}r-1 \(order v1\) state=paid\n/)
  t.match(out, /rstmdb> Created instance r 2\n {2}Machine: order v1\n {2}State: created\n/, 'CLI flags, quoted id and JSON with spaces')
  t.match(out, /rstmdb> Instance r 2\n[\s\S]*"who": "ann lee"/)
  t.match(out, /rstmdb> Applied event PAY on r 2\n {2}created → paid\n/)
  t.match(out, /rstmdb> Error: invalid value 'x' for -V, --version: expected a non-negative integer\nType 'help create-instance' for its flags\.\n/)
  t.match(out, /rstmdb> Error: missing required argument <ID>\n/)
  t.match(out, /rstmdb> {\n {2}"states": \[[\s\S]*rstmdb> Usage: apply-event \[OPTIONS\]\n/, 'gm without a version shows the latest')
  t.match(out, /rstmdb> Error: unterminated ' quote\n/)
  t.match(out, /rstmdb> Already in the REPL\.\n/)
  t.match(out, /rstmdb> 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n/)
  t.match(out, /rstmdb> Snapshot snap-[0-9a-f-]+ of r-1 at WAL offset \d+/)
  t.match(out, /rstmdb> Compaction complete\n/)
  t.match(out, /rstmdb> \[1\] put_machine\n\[2\] create_instance\n\n/)
  t.match(out, /rstmdb> WAL Statistics\n {2}Entries: 3\n/)
  t.match(out, /rstmdb> Deleted r-1\n/)
  t.match(out, /rstmdb> Usage: get <instance_id>\n/)
  t.match(out, /rstmdb> Unknown command: frobnicate\. Type 'help' for help\.\n/)
  t.match(out, /rstmdb> Error: invalid version 'x': expected a non-negative integer\n/)
  t.match(out, /rstmdb> Reconnected!\n\nrstmdb> {\n {2}"server_name": "rstmdb",/)
  t.ok(out.endsWith('rstmdb> Disconnected.\n'), 'quit: nothing after it runs')
  t.notMatch(out, /\^D/)

  const history = fs.readFileSync(path.join(home, '.rstmdb_history'), 'utf8').split('\n')
  t.equal(history[0], 'old-command', 'history is loaded and kept')
  t.ok(history.includes('PING'))
  t.ok(history.includes('quit'))
  t.notOk(history.some(line => line.startsWith(' ')), 'lines starting with a space are not recorded')
})

t.test('Ctrl+C continues, end of input is Ctrl+D', async t => {
  const cwd = tempDir(t)
  // without HOME the history lives in the working directory
  const repl = spawnCli([], { env: { ...env, HOME: '' }, cwd })
  await waitForOutput(repl, 'stdout', /rstmdb> $/)
  repl.kill('SIGINT')
  await waitForOutput(repl, 'stdout', /\^C\n/)
  repl.stdin?.write('ping\n')
  await waitForOutput(repl, 'stdout', /PONG\n/)
  repl.stdin?.end()
  const r = await finished(repl)
  t.equal(r.code, 0)
  t.ok(r.stdout.endsWith('rstmdb> ^D\nDisconnected.\n'), r.stdout)
  t.equal(fs.readFileSync(path.join(cwd, '.rstmdb_history'), 'utf8'), 'ping\n')
})

t.test('losing the server: error with hint, reconnect failure', async t => {
  const own = await startServer(t)
  const repl = spawnCli([], { env: { RSTMDB_SERVER: own.address } })
  await waitForOutput(repl, 'stdout', /rstmdb> $/)
  await own.stop()
  repl.stdin?.write('ping\n')
  await waitForOutput(repl, 'stdout', /Hint: Use 'reconnect' command to reconnect to the server\.\n/)
  repl.stdin?.write('reconnect\n')
  await waitForOutput(repl, 'stdout', /Reconnect failed: /)
  repl.stdin?.end('exit\n')
  const r = await finished(repl)
  t.equal(r.code, 0)
  t.match(r.stdout, /rstmdb> Error: (connection closed by server|not connected)\nHint: Use 'reconnect' command to reconnect to the server\.\n\n/)
  t.match(r.stdout, new RegExp(`rstmdb> Reconnect failed: connect ECONNREFUSED ${own.address.replace(/\./g, '\\.')}\n`))
})

t.test('the repl command and a failed first connect', async t => {
  const viaCommand = await runCli(['repl'], { env, input: 'q\n' })
  t.equal(viaCommand.code, 0)
  t.match(viaCommand.stdout, /Connected!\n[\s\S]*Disconnected\.\n$/)
  const refused = await runCli(['-s', '127.0.0.1:1'], { input: '' })
  t.equal(refused.code, 1)
  t.equal(refused.stderr, 'Connection failed: connect ECONNREFUSED 127.0.0.1:1\n')
})

t.test('watch in the REPL: events as they come, Ctrl+C back to the prompt', async t => {
  const own = await startServer(t)
  const repl = spawnCli([], { env: { RSTMDB_SERVER: own.address } })
  await waitForOutput(repl, 'stdout', /rstmdb> $/)
  repl.stdin?.write(`pm w 1 ${ORDER_DEFINITION}\nc w 1 w-1 {"amount":3}\nwatch-instance w-1 --no-ctx\n`)
  await waitForOutput(repl, 'stdout', /Press Ctrl\+C to stop\.\.\.\n/)
  const other = await runCli(['apply-event', '-i', 'w-1', '-e', 'PAY'], { env: { RSTMDB_SERVER: own.address } })
  t.equal(other.code, 0)
  const line = await waitForOutput(repl, 'stdout', /\{"type":"event".*\}\n/)
  t.match(line, /"instance_id":"w-1".*"event":"PAY"/)
  repl.kill('SIGINT')
  await waitForOutput(repl, 'stdout', /Stopping watch\.\.\.\n\nrstmdb> $/)
  repl.stdin?.end('ping\n')
  const r = await finished(repl)
  t.equal(r.code, 0)
  t.match(r.stdout, /PONG\n/, 'the session goes on after the watch')
})

t.test('tab completion of command names', async t => {
  t.same(completeCommand('li'), [['li', 'list-instances', 'list-machines'], 'li'])
  t.same(completeCommand('watch'), [['watch-all', 'watch-instance'], 'watch'], 'every CLI command completes')
  t.same(completeCommand('WAL'), [['wal', 'wal-read', 'wal-stats'], 'WAL'])
  t.same(completeCommand('put'), [['put-machine'], 'put'])
  const [all] = completeCommand('zzz')
  t.ok(all.includes('reconnect') && all.includes('help'), 'no match offers every command')
  t.same(completeCommand('get r-'), [[], 'get r-'], 'only the first word')
})
