import { readFileSync } from 'node:fs'
import { formatAddress, parseAddress } from '../../protocol/address.js'
import { ClientError, type ClientOptions, type TlsOptions } from '../client/index.js'
import { UsageError } from './errors.js'

/** Global options and their env vars → how to connect and print (cli.md §1). */

export const CONNECT_TIMEOUT_MS = 10_000
const REQUEST_TIMEOUT_MS = 30_000

export interface Settings {
  connection: ClientOptions
  /** `host:port` as shown by the REPL banner */
  address: string
  json: boolean
}

type Env = Record<string, string | undefined>
type Globals = Record<string, string | boolean | undefined>

const FALSE_WORDS = new Set(['', '0', 'false', 'no', 'off', 'n', 'f'])

/** true unless empty or one of 0/false/no/off/n/f, any case; undefined when unset */
export function envFlag (raw: string | undefined): boolean | undefined {
  return raw === undefined ? undefined : !FALSE_WORDS.has(raw.trim().toLowerCase())
}

function readPem (path: string, option: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    throw new ClientError('INVALID_ARGUMENT', `cannot read ${option} ${path}: ${(err as Error).message}`)
  }
}

function wireMode (raw: string): 'binary_json' | 'jsonl' {
  if (raw === 'binary') return 'binary_json'
  if (raw === 'jsonl') return raw
  throw new UsageError(`invalid value '${raw}' for --wire-mode: expected binary or jsonl`)
}

/** A flag overrides its env var. */
export function resolveSettings (globals: Globals, env: Env): Settings {
  const text = (name: string, envName?: string): string | undefined =>
    (globals[name] as string | undefined) ?? (envName === undefined ? undefined : env[envName])

  const server = text('server', 'RSTMDB_SERVER') ?? '127.0.0.1:7401'
  const address = parseAddress(server)
  if (address === null) throw new UsageError(`invalid --server: expected host:port or [ipv6]:port with a port from 0 to 65535, got '${server}'`)

  const caCert = text('ca-cert', 'RSTMDB_CA_CERT')
  const clientCert = text('client-cert', 'RSTMDB_CLIENT_CERT')
  const clientKey = text('client-key', 'RSTMDB_CLIENT_KEY')
  const insecure = globals.insecure === true
  const tlsOn = globals.tls === true || (globals.tls === undefined && envFlag(env.RSTMDB_TLS) === true) ||
    caCert !== undefined || clientCert !== undefined || insecure
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    throw new ClientError('INVALID_ARGUMENT', '--client-cert and --client-key must be used together')
  }
  let tls: TlsOptions | undefined
  if (tlsOn) {
    tls = {
      insecure,
      ca: caCert === undefined ? undefined : readPem(caCert, '--ca-cert'),
      cert: clientCert === undefined ? undefined : readPem(clientCert, '--client-cert'),
      key: clientKey === undefined ? undefined : readPem(clientKey, '--client-key'),
      serverName: text('server-name'),
    }
  }

  return {
    connection: {
      servers: [formatAddress(address)],
      tls,
      token: text('token', 'RSTMDB_TOKEN'),
      wireMode: wireMode(text('wire-mode') ?? 'binary'),
      clientName: 'rstmdb-cli',
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      // the REPL has its `reconnect` command, and a watch ends with the connection (cli.md §5, §7)
      reconnect: false,
      trace: globals.verbose === true
        ? (direction, message) => { process.stderr.write(JSON.stringify({ [direction]: message }) + '\n') }
        : undefined,
    },
    address: formatAddress(address),
    json: globals.json === true,
  }
}
