import t from 'tap'
import { startServer } from '../support/server.js'
import { makeCerts } from '../support/certs.js'
import { runCli } from './helpers.js'

// --tls, --ca-cert, -k, --server-name and mTLS against a real TLS server (cli.md §1).

const certs = makeCerts()
const tlsServer = await startServer(t, {
  env: {
    RSTMDB_TLS_ENABLED: 'true',
    RSTMDB_TLS_CERT: certs.serverCert,
    RSTMDB_TLS_KEY: certs.serverKey,
  },
})
const mtlsServer = await startServer(t, {
  env: {
    RSTMDB_TLS_ENABLED: 'true',
    RSTMDB_TLS_CERT: certs.serverCert,
    RSTMDB_TLS_KEY: certs.serverKey,
    RSTMDB_TLS_REQUIRE_CLIENT_CERT: 'true',
    RSTMDB_TLS_CLIENT_CA: certs.ca,
  },
})

t.test('server certificate checks', async t => {
  const s = ['-s', tlsServer.address]
  const trusted = await runCli([...s, '--ca-cert', certs.ca, 'ping'])
  t.equal(trusted.code, 0, trusted.stderr)
  t.equal(trusted.stdout, 'PONG\n', '--ca-cert turns TLS on and verifies 127.0.0.1 against the IP SAN')

  const byName = await runCli(['-s', `localhost:${tlsServer.rcpPort}`, '--tls', 'ping'], { env: { RSTMDB_CA_CERT: certs.ca } })
  t.equal(byName.stdout, 'PONG\n', 'host name and RSTMDB_CA_CERT')

  const sni = await runCli([...s, '--ca-cert', certs.ca, '--server-name', 'localhost', 'ping'])
  t.equal(sni.stdout, 'PONG\n', '--server-name matching a DNS SAN')

  const wrongName = await runCli([...s, '--ca-cert', certs.ca, '--server-name', 'db.example.com', 'ping'])
  t.equal(wrongName.code, 1)
  t.match(wrongName.stderr, /^Connection failed: TLS error: Host: db\.example\.com\. is not in the cert's altnames: DNS:localhost, IP Address:127\.0\.0\.1\n$/)

  const untrusted = await runCli([...s, '--tls', 'ping'])
  t.equal(untrusted.code, 1)
  t.match(untrusted.stderr, /^Connection failed: (self[- ]signed certificate|unable to (get local issuer|verify the first) certificate).*\n$/)

  const otherCa = await runCli([...s, '--json', '--ca-cert', certs.otherCa, 'ping'])
  t.equal(otherCa.code, 1)
  t.match(JSON.parse(otherCa.stderr), { error: { code: 'CONNECTION_FAILED', retryable: true } })

  const insecure = await runCli([...s, '-k', 'ping'])
  t.equal(insecure.stdout, 'PONG\n', '-k turns TLS on and skips the checks')
  t.equal((await runCli([...s, '--insecure', '--server-name', 'anything', 'ping'])).stdout, 'PONG\n')

  const envTls = await runCli([...s, 'ping'], { env: { RSTMDB_TLS: 'yes', RSTMDB_CA_CERT: certs.ca } })
  t.equal(envTls.stdout, 'PONG\n', 'RSTMDB_TLS')

  const plain = await runCli([...s, 'ping'], { env: { RSTMDB_TLS: 'off' } })
  t.equal(plain.code, 1, 'plain TCP to a TLS server fails')
  t.match(plain.stderr, /^(Connection failed|Error): /)
})

t.test('mTLS', async t => {
  const s = ['-s', mtlsServer.address, '--ca-cert', certs.ca]
  const withCert = await runCli([...s, '--client-cert', certs.clientCert, '--client-key', certs.clientKey, 'ping'])
  t.equal(withCert.code, 0, withCert.stderr)
  t.equal(withCert.stdout, 'PONG\n')
  const viaEnv = await runCli([...s, 'info'], { env: { RSTMDB_CLIENT_CERT: certs.clientCert, RSTMDB_CLIENT_KEY: certs.clientKey } })
  t.equal(viaEnv.code, 0, 'RSTMDB_CLIENT_CERT / RSTMDB_CLIENT_KEY')

  const without = await runCli([...s, 'ping'])
  t.equal(without.code, 1, 'no client certificate: refused')
  t.equal(without.stderr, 'Connection failed: connection lost: TLS error: tlsv13 alert certificate required\n')
  t.notMatch(without.stderr, /\n\s+at /)
})
