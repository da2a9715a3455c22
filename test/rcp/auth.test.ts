import t from 'tap'
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { removeDir, tempDir } from '../support/server.js'
import { clientFor, errorOf, resultOf, serverFor, within } from './helpers.js'

const sha = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex')

const secretsDir = tempDir('rstmdb-secrets-')
t.teardown(() => removeDir(secretsDir))
const secretsFile = path.join(secretsDir, 'tokens')
writeFileSync(secretsFile, `# team tokens\n\n   ${sha('from-file')}  \n# ${sha('commented-out')}\n`)

t.test('auth required', async t => {
  const server = await serverFor(t, {
    env: {
      RSTMDB_AUTH_REQUIRED: 'true',
      RSTMDB_AUTH_TOKEN_HASH: `${sha('from-env')},${sha('second-env').toUpperCase()}`,
      RSTMDB_AUTH_SECRETS_FILE: secretsFile,
    },
  })

  t.test('missing auth: UNAUTHORIZED for data ops; HELLO, PING and BYE are open', async t => {
    const c = await clientFor(t, server)
    for (const op of ['LIST_MACHINES', 'INFO', 'WAL_STATS', 'WATCH_ALL', 'UNWATCH', 'GET_INSTANCE']) {
      const error = errorOf(await c.request(op, {}))
      t.equal(error.code, 'UNAUTHORIZED', op)
      t.equal(error.message, 'authentication required')
      t.equal(error.retryable, false)
      t.equal(error.details, undefined)
    }
    t.same(resultOf(await c.request('PING')), { pong: true })
    t.same(resultOf(await c.request('BYE')), { goodbye: true })
    t.ok(await within(c.closed, 5000), 'BYE closes')
  })

  t.test('wrong method, empty token, wrong token: AUTH_FAILED, connection open', async t => {
    const c = await clientFor(t, server)
    const method = errorOf(await c.request('AUTH', { method: 'basic', token: 'from-env' }))
    t.equal(method.code, 'AUTH_FAILED')
    t.equal(method.message, 'unsupported auth method: basic')
    const empty = errorOf(await c.request('AUTH', { method: 'bearer', token: '' }))
    t.equal(empty.code, 'AUTH_FAILED')
    t.equal(empty.message, 'empty token')
    const wrong = errorOf(await c.request('AUTH', { method: 'bearer', token: 'nope' }))
    t.equal(wrong.code, 'AUTH_FAILED')
    t.equal(wrong.message, 'invalid token')
    const commented = errorOf(await c.request('AUTH', { method: 'bearer', token: 'commented-out' }))
    t.equal(commented.message, 'invalid token', 'a # line of the secrets file is not a hash')
    t.equal(errorOf(await c.request('LIST_MACHINES')).code, 'UNAUTHORIZED')
    const noToken = errorOf(await c.request('AUTH', { method: 'bearer' }))
    t.equal(noToken.code, 'BAD_REQUEST')
    t.equal(noToken.details.field, 'token')
  })

  t.test('right tokens: from the env list (any case) and from the secrets file', async t => {
    for (const token of ['from-env', 'second-env', 'from-file']) {
      const c = await clientFor(t, server)
      t.same(resultOf(await c.request('AUTH', { method: 'bearer', token })), { authenticated: true }, token)
      t.same(resultOf(await c.request('LIST_MACHINES')), { items: [] })
      c.close()
    }
  })

  t.test('a failed AUTH keeps an earlier success', async t => {
    const c = await clientFor(t, server, { token: 'from-file' })
    t.equal(errorOf(await c.request('AUTH', { method: 'bearer', token: 'bad' })).code, 'AUTH_FAILED')
    t.equal(errorOf(await c.request('AUTH', { method: 'other', token: 'bad' })).code, 'AUTH_FAILED')
    t.same(resultOf(await c.request('LIST_MACHINES')), { items: [] })
  })

  t.test('AUTH before HELLO is handshake_required', async t => {
    const c = await clientFor(t, server, { hello: false })
    t.equal(errorOf(await c.request('AUTH', { method: 'bearer', token: 'from-env' })).details.reason, 'handshake_required')
  })
})

t.test('auth not required, no hashes: sessions start authenticated, any non-empty token is accepted', async t => {
  const server = await serverFor(t)
  const c = await clientFor(t, server)
  t.same(resultOf(await c.request('LIST_MACHINES')), { items: [] })
  t.same(resultOf(await c.request('AUTH', { method: 'bearer', token: 'anything' })), { authenticated: true })
  t.equal(errorOf(await c.request('AUTH', { method: 'bearer', token: '' })).message, 'empty token')
  t.equal(errorOf(await c.request('AUTH', { method: 'Bearer', token: 'x' })).message, 'unsupported auth method: Bearer')
})

t.test('auth not required but hashes configured: AUTH checks them; ops need no AUTH', async t => {
  const server = await serverFor(t, { env: { RSTMDB_AUTH_TOKEN_HASH: sha('tok') } })
  const c = await clientFor(t, server)
  t.same(resultOf(await c.request('INFO')).server_name, 'rstmdb')
  t.equal(errorOf(await c.request('AUTH', { method: 'bearer', token: 'wrong' })).message, 'invalid token')
  t.same(resultOf(await c.request('AUTH', { method: 'bearer', token: 'tok' })), { authenticated: true })
})
