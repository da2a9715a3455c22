import t from 'tap'
import net from 'node:net'
import path from 'node:path'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { clientFor, rejected } from '../support/client.js'
import { runServer, startServer } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'

const dir = tempDir(t, 'rstmdb-startup-')

/** Runs the server expecting a startup failure: exit 1, the message on stderr. */
async function refuses (t: any, name: string, env: Record<string, string>, message: RegExp, extra: { args?: string[], dataDir?: string } = {}): Promise<void> {
  // nine processes start side by side: give a loaded machine time before the kill that bounds a hang
  const run = await runServer(t, { env, args: extra.args, dataDir: extra.dataDir ?? mkdtempSync(path.join(dir, 'data-')), timeoutMs: 60_000 })
  t.equal(run.code, 1, `${name}: exit 1`)
  t.match(run.stderr, message, `${name}: message on stderr`)
  t.notMatch(run.stdout, /"message":"ready"/, `${name}: never ready`)
}

t.test('startup validation failures exit 1 with their message', async t => {
  const missing = path.join(dir, 'missing.yaml')
  const broken = path.join(dir, 'broken.yaml')
  writeFileSync(broken, 'network: [unclosed\n')
  // independent processes: run them side by side
  await Promise.all([
    refuses(t, 'auth required without hashes', { RSTMDB_AUTH_REQUIRED: 'true' }, /auth\.required is true but no token hashes/),
    refuses(t, 'a bad token hash', { RSTMDB_AUTH_TOKEN_HASH: 'abc123' }, /RSTMDB_AUTH_TOKEN_HASH/),
    refuses(t, 'tls without a certificate', { RSTMDB_TLS_ENABLED: 'true' }, /cert/),
    refuses(t, 'a bad env value', { RSTMDB_MAX_CONNECTIONS: 'lots' }, /invalid RSTMDB_MAX_CONNECTIONS/),
    refuses(t, 'a value out of range', { RSTMDB_SUBSCRIPTION_QUEUE_LIMIT: '0' }, /RSTMDB_SUBSCRIPTION_QUEUE_LIMIT/),
    refuses(t, 'an unknown fsync policy', { RSTMDB_FSYNC_POLICY: 'sometimes' }, /RSTMDB_FSYNC_POLICY/),
    refuses(t, 'an unreadable config file', {}, new RegExp(`failed to read config file '${missing.replace(/[.]/g, '\\.')}'`), { args: ['--config', missing] }),
    refuses(t, 'an unparsable config file', { RSTMDB_CONFIG: broken }, /failed to parse config file/),
    refuses(t, 'an unreadable secrets file', { RSTMDB_AUTH_SECRETS_FILE: path.join(dir, 'nope') }, /failed to read auth\.secrets_file/),
  ])
})

t.test('the RCP port already in use', async t => {
  const blocker = net.createServer()
  await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => blocker.close())
  const port = (blocker.address() as net.AddressInfo).port
  await refuses(t, 'port in use', { RSTMDB_BIND: `127.0.0.1:${port}` }, /EADDRINUSE|in use/)
})

t.test('the LOCK held by a live server on the same data dir', async t => {
  const live = await startServer(t)
  await refuses(t, 'LOCK held', {}, /locked by running process/, { dataDir: live.dataDir })
  const c = await clientFor(t, live)
  t.same(await c.ping(), { pong: true }, 'the first server is unharmed')
})

t.test('file + env precedence, seen over the wire', async t => {
  const config = path.join(dir, 'rstmdb.yaml')
  writeFileSync(config, 'storage:\n  fsync_policy: never\n  max_machine_versions: 1\nsubscriptions: { queue_limit: 50 }\nnope: 1\n')
  const server = await startServer(t, { args: ['--config', config], env: { RSTMDB_FSYNC_POLICY: 'every_n:7' } })
  const c = await clientFor(t, server)
  t.equal((await c.walStats()).fsync_policy, 'every_n:7', 'env beats the file')
  const def = { states: ['a'], initial: 'a', transitions: [] }
  await c.putMachine({ machine: 'm', version: 1, definition: def })
  t.equal((await rejected(c.putMachine({ machine: 'm', version: 2, definition: def }))).code, 'MACHINE_VERSION_LIMIT_EXCEEDED', 'the file beats the default')
  t.ok(server.logs.some(l => l.level === 'warn' || l.level === 40), 'an unknown section is a warning, not an error')
})
