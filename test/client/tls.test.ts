import t from 'tap'
import { readFileSync } from 'node:fs'
import { Client } from 'rstmdb'
import { makeCerts } from '../support/certs.js'
import { clientFor } from '../support/client.js'
import { startServer } from '../support/server.js'

// TLS options of the SDK: ca, insecure, serverName, and a client certificate for mTLS.

const certs = makeCerts()
const pem = (file: string): Buffer => readFileSync(file)
const tlsEnv = { RSTMDB_TLS_ENABLED: 'true', RSTMDB_TLS_CERT: certs.serverCert, RSTMDB_TLS_KEY: certs.serverKey }
const server = await startServer(t, { env: tlsEnv })
const mtls = await startServer(t, { env: { ...tlsEnv, RSTMDB_TLS_REQUIRE_CLIENT_CERT: 'true', RSTMDB_TLS_CLIENT_CA: certs.ca } })

t.test('server certificate checks', async t => {
  const trusted = await clientFor(t, server, { tls: { ca: pem(certs.ca) } })
  t.same(await trusted.ping(), { pong: true }, 'the CA verifies 127.0.0.1 against the IP SAN')
  const jsonl = await clientFor(t, server, { tls: { ca: pem(certs.ca) }, wireMode: 'jsonl' })
  t.same(await jsonl.ping(), { pong: true }, 'jsonl over TLS')
  const byName = await clientFor(t, { address: `localhost:${server.rcpPort}` }, { tls: { ca: pem(certs.ca) } })
  t.same(await byName.ping(), { pong: true }, 'a host name is checked against the DNS SAN')
  await t.rejects(Client.connect({ servers: [server.address], tls: true }), { code: 'CONNECTION_FAILED', message: /^TLS error: |self.signed|unable to (verify|get)/ }, 'the system roots do not know the test CA')
  await t.rejects(Client.connect({ servers: [server.address], tls: { ca: pem(certs.otherCa) } }), { code: 'CONNECTION_FAILED' }, 'another CA')
  await t.rejects(Client.connect({ servers: [server.address], tls: { ca: pem(certs.ca), serverName: 'elsewhere.example' } }), { code: 'CONNECTION_FAILED', message: /elsewhere\.example/ }, 'serverName is what the certificate is checked against')
  const insecure = await clientFor(t, server, { tls: { insecure: true } })
  t.same(await insecure.ping(), { pong: true }, 'insecure skips the checks')
  await t.rejects(Client.connect({ servers: [server.address] }), { code: 'CONNECTION_FAILED' }, 'plain TCP to a TLS port')
})

t.test('mTLS: a client certificate from the CA is accepted; none is refused', async t => {
  const c = await clientFor(t, mtls, { tls: { ca: pem(certs.ca), cert: pem(certs.clientCert), key: pem(certs.clientKey) } })
  t.same(await c.ping(), { pong: true })
  await t.rejects(Client.connect({ servers: [mtls.address], tls: { ca: pem(certs.ca) } }), { code: 'CONNECTION_FAILED' })
})
