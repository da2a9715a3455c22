import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fail, reasonOf } from './errors.js'
import type { ClusterSection, TlsSection } from './schema.js'

/**
 * The PEM files the configuration names, read and checked once at startup; the loaded
 * config carries their bytes, so nothing reads them again.
 */

/** What the RCP listener's TLS needs: main passes it to tls.createServer. */
export interface TlsMaterial { cert: Buffer, key: Buffer, ca: Buffer | null }

/** config.md §3 items 3 and 4: cert and key set, readable, parseable and matching; the CA when mTLS. */
export function readTlsMaterial (tls: TlsSection): TlsMaterial {
  if (tls.cert_path === null) fail('tls.enabled is true but tls.cert_path is not set')
  if (tls.key_path === null) fail('tls.enabled is true but tls.key_path is not set')
  if (tls.require_client_cert && tls.client_ca_path === null) fail('tls.require_client_cert is true but tls.client_ca_path is not set')
  const [cert, certificate] = readPem('tls.cert_path', tls.cert_path, 'certificate', (pem) => new X509Certificate(pem))
  const [key, privateKey] = readPem('tls.key_path', tls.key_path, 'private key', (pem) => createPrivateKey(pem))
  const ca = tls.client_ca_path === null ? null : readCertificates('tls.client_ca_path', tls.client_ca_path)
  if (!certificate.checkPrivateKey(privateKey)) {
    fail(`tls.key_path '${tls.key_path}' does not match the certificate in tls.cert_path '${tls.cert_path}'`)
  }
  return { cert, key, ca }
}

/** The CA that verifies the NATS servers' certificates, when cluster.nats_tls_ca is set. */
export function readNatsCa (cluster: ClusterSection): Buffer | null {
  return cluster.nats_tls_ca === null ? null : readCertificates('cluster.nats_tls_ca', cluster.nats_tls_ca)
}

function readCertificates (key: string, file: string): Buffer {
  return readPem(key, file, 'certificate', (pem) => new X509Certificate(pem))[0]
}

function readPem<T> (key: string, file: string, what: string, parse: (pem: Buffer) => T): [Buffer, T] {
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (err) {
    return fail(`cannot read ${key} '${file}': ${reasonOf(err)}`)
  }
  try {
    return [pem, parse(pem)]
  } catch (err) {
    return fail(`cannot parse ${key} '${file}' as a PEM ${what}: ${reasonOf(err)}`)
  }
}
