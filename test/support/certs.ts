import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import tap from 'tap'
import { tempDir } from './temp-dir.js'

export interface Certs {
  dir: string
  ca: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  /** a second CA that signed nothing we use */
  otherCa: string
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, made with the openssl binary (removed when the test file ends). */
export function makeCerts (): Certs {
  const dir = tempDir(tap, 'rstmdb-tls-')
  const file = (name: string): string => path.join(dir, name)
  const ssl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }) }
  const newCa = (name: string): void => {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`),
      '-days', '2', '-subj', `/CN=${name}`)
  }
  newCa('ca')
  newCa('other-ca')
  const leaf = (name: string, ext: string): void => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`)
    fs.writeFileSync(file(`${name}.ext`), ext)
    ssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file(`${name}.pem`), '-days', '2', '-extfile', file(`${name}.ext`))
  }
  leaf('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  leaf('client', 'extendedKeyUsage=clientAuth\n')
  return {
    dir,
    ca: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
    otherCa: file('other-ca.pem'),
  }
}
