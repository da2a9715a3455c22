import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import t from 'tap'
import { hashToken } from '../../protocol/auth.js'
import { ok, startFakeServer } from '../support/fake-server.js'
import { startServer } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'
import { runCli } from './helpers.js'

// Every failure: one line with the cause, the documented exit code (cli.md §4, §6), never a stack trace.

const TOKEN = 's3cret'
const server = await startServer(t, { env: { RSTMDB_AUTH_REQUIRED: 'true', RSTMDB_AUTH_TOKEN_HASH: hashToken(TOKEN) } })
const env = { RSTMDB_SERVER: server.address, RSTMDB_TOKEN: TOKEN }

function noStack (t: { notMatch: (found: string, pattern: RegExp, message: string) => unknown }, stderr: string): void {
  t.notMatch(stderr, /\n\s+at /, 'no stack trace')
}

/** a port nobody listens on: bound, then released */
async function closedPort (): Promise<number> {
  const probe = net.createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as net.AddressInfo
  await new Promise<void>(resolve => probe.close(() => resolve()))
  return port
}

t.test('server error response: exit 1 with the code', async t => {
  const r = await runCli(['get-instance', 'ghost'], { env })
  t.equal(r.code, 1)
  t.equal(r.stdout, '')
  t.equal(r.stderr, 'Error: server error: INSTANCE_NOT_FOUND - instance not found: ghost\n')
  const j = await runCli(['--json', 'get-instance', 'ghost'], { env })
  t.equal(j.code, 1)
  t.equal(j.stdout, '')
  t.same(JSON.parse(j.stderr), { error: { code: 'INSTANCE_NOT_FOUND', message: 'instance not found: ghost', retryable: false, details: { instance_id: 'ghost' } } })
  t.match(j.stderr, /^[^\n]+\n$/, 'one line')

  const bad = await runCli(['put-machine', '-n', 'm', '-v', '1', '{"states":[],"initial":"x","transitions":[]}'], { env })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /^Error: server error: BAD_REQUEST - .+\n$/)
})

t.test('auth: missing, wrong and right tokens', async t => {
  const none = await runCli(['list-machines'], { env: { RSTMDB_SERVER: server.address } })
  t.equal(none.code, 1)
  t.equal(none.stderr, 'Error: server error: UNAUTHORIZED - authentication required\n')
  t.equal((await runCli(['ping'], { env: { RSTMDB_SERVER: server.address } })).stdout, 'PONG\n', 'PING needs no auth')

  const wrong = await runCli(['-t', 'nope', 'ping'], { env: { RSTMDB_SERVER: server.address } })
  t.equal(wrong.code, 1)
  t.equal(wrong.stderr, 'Connection failed: server error: AUTH_FAILED - invalid token\n')
  const wrongJson = await runCli(['--json', '--token', 'nope', 'ping'], { env: { RSTMDB_SERVER: server.address } })
  t.same(JSON.parse(wrongJson.stderr), { error: { code: 'AUTH_FAILED', message: 'invalid token', retryable: false } })

  const flagWins = await runCli(['--token', TOKEN, 'list-machines'], { env: { RSTMDB_SERVER: server.address, RSTMDB_TOKEN: 'nope' } })
  t.equal(flagWins.code, 0, 'the flag overrides RSTMDB_TOKEN')
  t.equal(flagWins.stdout, 'No machines registered\n')
  t.equal((await runCli(['list-machines'], { env })).code, 0, 'RSTMDB_TOKEN is used')
})

t.test('unreachable server: exit 1, Connection failed', async t => {
  const port = await closedPort()
  const r = await runCli(['-s', `127.0.0.1:${port}`, 'ping'])
  t.equal(r.code, 1)
  t.equal(r.stderr, `Connection failed: connect ECONNREFUSED 127.0.0.1:${port}\n`)
  const j = await runCli(['--json', '--server', `127.0.0.1:${port}`, 'ping'])
  t.equal(j.code, 1)
  t.same(JSON.parse(j.stderr), { error: { code: 'CONNECTION_FAILED', message: `connect ECONNREFUSED 127.0.0.1:${port}`, retryable: true } })
  const viaEnv = await runCli(['ping'], { env: { RSTMDB_SERVER: `localhost:${port}` } })
  t.equal(viaEnv.code, 1, 'RSTMDB_SERVER with a host name')
  t.match(viaEnv.stderr, /^Connection failed: connect ECONNREFUSED /)
})

t.test('bad JSON argument or unreadable file: exit 1 before connecting', async t => {
  const port = await closedPort()
  const server = `127.0.0.1:${port}`
  const def = await runCli(['-s', server, 'put-machine', '-n', 'm', '-v', '1', '{"states":'])
  t.equal(def.code, 1)
  t.match(def.stderr, /^Error: invalid JSON in <DEFINITION>: .+\n$/)
  noStack(t, def.stderr)
  const ctx = await runCli(['-s', server, '--json', 'create-instance', '-m', 'm', '-V', '1', '-c', 'nope'])
  t.equal(ctx.code, 1)
  t.match(JSON.parse(ctx.stderr), { error: { code: 'INVALID_ARGUMENT', message: /^invalid JSON in --ctx: /, retryable: false } })
  const payload = await runCli(['-s', server, 'apply-event', '-i', 'x', '-e', 'E', '-p', '{a}'])
  t.equal(payload.code, 1)
  t.match(payload.stderr, /^Error: invalid JSON in --payload: /)
  const missing = path.join(tempDir(t), 'missing.json')
  const file = await runCli(['-s', server, 'put-machine', '-n', 'm', '-v', '1', '@' + missing])
  t.equal(file.code, 1)
  t.equal(file.stderr, `Error: cannot read <DEFINITION> file ${missing}: ENOENT\n`)
  const garbage = path.join(tempDir(t), 'bad.json')
  fs.writeFileSync(garbage, '{oops')
  const bad = await runCli(['-s', server, 'create-instance', '-m', 'm', '-V', '1', '--ctx', '@' + garbage])
  t.equal(bad.code, 1)
  t.match(bad.stderr, /^Error: invalid JSON in --ctx: /)
})

t.test('usage errors: exit 2 with the usage on stderr', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /^Error: unknown command 'frobnicate'\n\nUsage: rstmdb-cli \[GLOBAL OPTIONS\]/],
    [['--bogus', 'ping'], /^Error: Unknown option '--bogus'\n\nUsage: rstmdb-cli/],
    [['ping', '--bogus'], /^Error: Unknown option '--bogus'\n\nUsage: rstmdb-cli \[GLOBAL OPTIONS\] ping/],
    [['-s'], /^Error: Option '-s, --server <value>' argument missing\n\nUsage:/],
    [['put-machine', '-n', 'order', '{}'], /^Error: missing required option -v, --version <N>\n\nUsage: rstmdb-cli \[GLOBAL OPTIONS\] put-machine/],
    [['put-machine', '-n', 'order', '-v', '1'], /^Error: missing required argument <DEFINITION>\n/],
    [['put-machine', '-n', 'order', '-v', 'one', '{}'], /^Error: invalid value 'one' for -v, --version: expected a non-negative integer\n/],
    [['create-instance', '-m', 'order', '-V', '-1'], /^Error: Option '-V' argument is ambiguous\.\n/],
    [['apply-event', '-i', 'x'], /^Error: missing required option -e, --event <E>\n/],
    [['apply-event', '-i', 'x', '-e', 'E', '--expected-wal-offset', '1.5'], /^Error: invalid value '1.5' for --expected-wal-offset/],
    [['get-instance'], /^Error: missing required argument <ID>\n/],
    [['get-instance', 'a', 'b'], /^Error: unexpected argument 'b'\n/],
    [['wal-read', '--limit', 'ten'], /^Error: invalid value 'ten' for -l, --limit/],
    [['watch-all', '--from-offset', 'x'], /^Error: invalid value 'x' for --from-offset/],
    [['--wire-mode', 'carrier-pigeon', 'ping'], /^Error: invalid value 'carrier-pigeon' for --wire-mode: expected binary or jsonl\n/],
    [['-s', 'not-an-address', 'ping'], /^Error: invalid --server: /],
    [['hash-token'], /^Error: missing required argument <TOKEN>\n/],
  ]
  for (const [args, expected] of cases) {
    const r = await runCli(args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, expected, args.join(' '))
    t.equal(r.stdout, '')
    noStack(t, r.stderr)
  }
  const j = await runCli(['--json', 'frobnicate'])
  t.equal(j.code, 2)
  t.same(JSON.parse(j.stderr), { error: { code: 'INVALID_ARGUMENT', message: "unknown command 'frobnicate'", retryable: false } })
})

t.test('TLS option errors', async t => {
  const r = await runCli(['--client-cert', 'c.pem', 'ping'])
  t.equal(r.code, 1)
  t.equal(r.stderr, 'Error: --client-cert and --client-key must be used together\n')
  const k = await runCli(['ping'], { env: { RSTMDB_CLIENT_KEY: 'k.pem' } })
  t.equal(k.code, 1)
  t.equal(k.stderr, 'Error: --client-cert and --client-key must be used together\n')
  const ca = await runCli(['--ca-cert', path.join(tempDir(t), 'none.pem'), 'ping'])
  t.equal(ca.code, 1)
  t.match(ca.stderr, /^Error: cannot read --ca-cert .*none\.pem: ENOENT/)
})

t.test('broken server replies: PROTOCOL_ERROR, exit 1', async t => {
  const garbage = await startFakeServer(t, () => [Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')])
  const r = await runCli(['-s', garbage, 'ping'])
  t.equal(r.code, 1)
  t.equal(r.stderr, 'Connection failed: unreadable data from server (bad_lead_byte)\n')
  const j = await runCli(['--json', '-s', garbage, 'ping'])
  t.match(JSON.parse(j.stderr), { error: { code: 'PROTOCOL_ERROR', retryable: false } })

  const unknownCode = await startFakeServer(t, (req) => req.op === 'HELLO'
    ? [ok(req, { protocol_version: 1, wire_mode: 'binary_json' })]
    : [{ type: 'response', id: req.id, status: 'error', error: { code: 'TEAPOT', message: 'short and stout' } }])
  const u = await runCli(['-s', unknownCode, 'ping'])
  t.equal(u.code, 1)
  t.match(u.stderr, /^Error: malformed error response: /)

  const hangUp = await startFakeServer(t, (req) => req.op === 'HELLO' ? [ok(req, { protocol_version: 1 })] : 'close')
  const h = await runCli(['-s', hangUp, 'info'])
  t.equal(h.code, 1)
  t.equal(h.stderr, 'Error: connection closed by server\n')
})
