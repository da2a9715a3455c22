import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import { hashToken } from '../../protocol/auth.js'
import { clientFor, rejected } from '../support/client.js'
import { connectRaw, rawConnect, rawFrame } from '../support/raw-client.js'
import { startServer } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'
import { resultOf, within } from './helpers.js'

const dir = tempDir(t, 'rstmdb-tls-')
const file = (name: string): string => path.join(dir, name)

function openssl (...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}

/** a CA, and a certificate signed by it with the given extensions */
function makeCa (name: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`)
}
function makeCert (name: string, ca: string, ext: string, serial: number): void {
  writeFileSync(file(`${name}.ext`), ext)
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`)
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(serial),
    '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`)
}

makeCa('ca')
makeCa('other-ca')
makeCert('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n', 1)
makeCert('client', 'ca', 'extendedKeyUsage=clientAuth\n', 2)
makeCert('stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n', 3)
const pem = (name: string): Buffer => readFileSync(file(name))

const serverEnv = {
  RSTMDB_TLS_ENABLED: 'true',
  RSTMDB_TLS_CERT: file('server.pem'),
  RSTMDB_TLS_KEY: file('server.key'),
}

/** Tries a TLS connection and a HELLO; 'ok' when the HELLO response arrives, 'failed' when the server refuses. */
async function attempt (port: number, options: tls.ConnectionOptions): Promise<'ok' | 'failed'> {
  return await new Promise(resolve => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: pem('ca.pem'), ...options }, () => {
      socket.write(rawFrame(JSON.stringify({ id: 'h', op: 'HELLO', params: { protocol_version: 1 } })))
    })
    const timer = setTimeout(() => { socket.destroy(); resolve('failed') }, 5000)
    socket.on('data', () => { clearTimeout(timer); socket.destroy(); resolve('ok') })
    socket.on('error', () => { clearTimeout(timer); socket.destroy(); resolve('failed') })
    socket.on('close', () => { clearTimeout(timer); resolve('failed') })
  })
}

t.test('TLS: both wire modes over TLS; plain TCP gets nothing', async t => {
  const server = await startServer(t, { env: serverEnv })
  for (const mode of ['binary', 'jsonl'] as const) {
    // raw: the negotiated TLS version is read off the socket
    const c = await connectRaw(server.rcpPort, { mode, tls: { ca: pem('ca.pem') } })
    t.same(resultOf(await c.request('PING')), { pong: true }, `${mode} over TLS`)
    t.ok((c.socket as tls.TLSSocket).getProtocol()?.startsWith('TLSv1.'), 'TLS ≥ 1.2')
    c.close()
  }
  t.equal(await attempt(server.rcpPort, { servername: 'localhost' }), 'ok', 'the certificate is valid for localhost too')
  const plain = await rawConnect(server.rcpPort)
  plain.socket.write(rawFrame(JSON.stringify({ id: 'h', op: 'HELLO', params: { protocol_version: 1 } })))
  t.ok(await within(plain.closed, 5000), 'plain TCP is closed')
  t.equal(plain.received().toString('latin1').includes('RCPX'), false, 'and gets no RCP response')
})

t.test('mTLS: a client cert from the CA works; none, or one from another CA, fails', async t => {
  const token = 'mtls-token'
  const server = await startServer(t, {
    env: {
      ...serverEnv,
      RSTMDB_TLS_REQUIRE_CLIENT_CERT: 'true',
      RSTMDB_TLS_CLIENT_CA: file('ca.pem'),
      RSTMDB_AUTH_REQUIRED: 'true',
      RSTMDB_AUTH_TOKEN_HASH: hashToken(token),
    },
  })
  const good = { cert: pem('client.pem'), key: pem('client.key') }
  t.equal(await attempt(server.rcpPort, good), 'ok', 'good client')
  t.equal(await attempt(server.rcpPort, {}), 'failed', 'no client certificate')
  t.equal(await attempt(server.rcpPort, { cert: pem('stranger.pem'), key: pem('stranger.key') }), 'failed', 'certificate from another CA')

  const c = await clientFor(t, server, { tls: { ca: pem('ca.pem'), ...good } })
  t.equal((await rejected(c.listMachines())).code, 'UNAUTHORIZED', 'a client certificate never replaces AUTH')
  t.same(await c.auth({ method: 'bearer', token }), { authenticated: true })
  t.same(await c.listMachines(), { items: [] })
})
