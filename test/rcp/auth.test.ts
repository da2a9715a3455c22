import t from 'tap'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { hashToken } from '../../protocol/auth.js'
import { clientFor, loose, rejected } from '../support/client.js'
import { rawClientFor } from '../support/raw-client.js'
import { startServer } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'
import { errorOf, resultOf, within } from './helpers.js'

const secretsDir = tempDir(t, 'rstmdb-secrets-')
const secretsFile = path.join(secretsDir, 'tokens')
writeFileSync(secretsFile, `# team tokens\n\n   ${hashToken('from-file')}  \n# ${hashToken('commented-out')}\n`)

t.test('auth required', async t => {
  const server = await startServer(t, {
    env: {
      RSTMDB_AUTH_REQUIRED: 'true',
      RSTMDB_AUTH_TOKEN_HASH: `${hashToken('from-env')},${hashToken('second-env').toUpperCase()}`,
      RSTMDB_AUTH_SECRETS_FILE: secretsFile,
    },
  })

  t.test('missing auth: UNAUTHORIZED for data ops; HELLO, PING and BYE are open', async t => {
    const c = loose(await clientFor(t, server))
    for (const op of ['LIST_MACHINES', 'INFO', 'WAL_STATS', 'WATCH_ALL', 'UNWATCH', 'GET_INSTANCE']) {
      const error = await rejected(c.request(op, {}))
      t.equal(error.code, 'UNAUTHORIZED', op)
      t.equal(error.message, 'authentication required')
      t.equal(error.retryable, false)
      t.equal(error.details, undefined)
    }
    t.same(await c.request('PING'), { pong: true })
    // raw: whether the server closes the socket after BYE
    const r = await rawClientFor(t, server)
    t.same(resultOf(await r.request('BYE')), { goodbye: true })
    t.ok(await within(r.closed, 5000), 'BYE closes')
  })

  t.test('wrong method, empty token, wrong token: AUTH_FAILED, connection open', async t => {
    const c = await clientFor(t, server)
    const method = await rejected(c.auth({ method: 'basic', token: 'from-env' }))
    t.equal(method.code, 'AUTH_FAILED')
    t.equal(method.message, 'unsupported auth method: basic')
    const empty = await rejected(c.auth({ method: 'bearer', token: '' }))
    t.equal(empty.code, 'AUTH_FAILED')
    t.equal(empty.message, 'empty token')
    const wrong = await rejected(c.auth({ method: 'bearer', token: 'nope' }))
    t.equal(wrong.code, 'AUTH_FAILED')
    t.equal(wrong.message, 'invalid token')
    const commented = await rejected(c.auth({ method: 'bearer', token: 'commented-out' }))
    t.equal(commented.message, 'invalid token', 'a # line of the secrets file is not a hash')
    t.equal((await rejected(c.listMachines())).code, 'UNAUTHORIZED')
    const noToken = await rejected(loose(c).request('AUTH', { method: 'bearer' }))
    t.equal(noToken.code, 'BAD_REQUEST')
    t.equal(noToken.details.field, 'token')
  })

  t.test('right tokens: from the env list (any case) and from the secrets file', async t => {
    for (const token of ['from-env', 'second-env', 'from-file']) {
      const c = await clientFor(t, server)
      t.same(await c.auth({ method: 'bearer', token }), { authenticated: true }, token)
      t.same(await c.listMachines(), { items: [] })
      c.destroy()
    }
  })

  t.test('a failed AUTH keeps an earlier success', async t => {
    const c = await clientFor(t, server, { token: 'from-file' })
    t.equal((await rejected(c.auth({ method: 'bearer', token: 'bad' }))).code, 'AUTH_FAILED')
    t.equal((await rejected(c.auth({ method: 'other', token: 'bad' }))).code, 'AUTH_FAILED')
    t.same(await c.listMachines(), { items: [] })
  })

  t.test('AUTH before HELLO is handshake_required', async t => {
    const c = await rawClientFor(t, server, { hello: false })
    t.equal(errorOf(await c.request('AUTH', { method: 'bearer', token: 'from-env' })).details.reason, 'handshake_required')
  })
})

t.test('auth not required, no hashes: sessions start authenticated, any non-empty token is accepted', async t => {
  const server = await startServer(t)
  const c = await clientFor(t, server)
  t.same(await c.listMachines(), { items: [] })
  t.same(await c.auth({ method: 'bearer', token: 'anything' }), { authenticated: true })
  t.equal((await rejected(c.auth({ method: 'bearer', token: '' }))).message, 'empty token')
  t.equal((await rejected(c.auth({ method: 'Bearer', token: 'x' }))).message, 'unsupported auth method: Bearer')
})

t.test('auth not required but hashes configured: AUTH checks them; ops need no AUTH', async t => {
  const server = await startServer(t, { env: { RSTMDB_AUTH_TOKEN_HASH: hashToken('tok') } })
  const c = await clientFor(t, server)
  t.same((await c.info()).server_name, 'rstmdb')
  t.equal((await rejected(c.auth({ method: 'bearer', token: 'wrong' }))).message, 'invalid token')
  t.same(await c.auth({ method: 'bearer', token: 'tok' }), { authenticated: true })
})
