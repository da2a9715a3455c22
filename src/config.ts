import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { checkSettings } from './config/checks.js'
import { readNatsCa, readTlsMaterial, type TlsMaterial } from './config/material.js'
import { AuthSchema, defaults, KEYS, type ClusterSection, type Settings, type TlsSection } from './config/schema.js'
import { applyEnv, applyFile, configPath, readSecrets, type Env, type Values } from './config/sources.js'

/**
 * Configuration (config.md): defaults < YAML file < RSTMDB_* env, all driven by the one
 * schema in config/schema.ts, then the secrets file, the checks across keys and the TLS files.
 */

export { formatAddress, type Address } from '../protocol/address.js'
export { formatFsyncPolicy, type FsyncPolicy } from '../storage/index.js'
export { ConfigError } from './config/errors.js'
export { describeConfig } from './config/describe.js'
export type { TlsMaterial } from './config/material.js'
export * from './config/schema.js'

/** The loaded configuration: absolute paths, node_id filled in, and the PEM files it names already read. */
export type Config = Omit<Settings, 'tls' | 'cluster'> & {
  /** `material`: the RCP listener's certificate, key and client CA; null while TLS is off. */
  tls: TlsSection & { material: TlsMaterial | null }
  /** `nats_tls_ca_pem`: the file of nats_tls_ca, read when the cluster is enabled. */
  cluster: ClusterSection & { node_id: string, nats_tls_ca_pem: Buffer | null }
  /** Absolute path of the YAML file that was loaded, or null. */
  file: string | null
  /** Unknown keys and ignored settings, for main to log once its logger exists. */
  warnings: string[]
}

export interface LoadOptions {
  /** Scanned for `--config <path>` / `--config=<path>`; every other entry is ignored. */
  argv?: readonly string[]
  env?: Env
  /** Base for the config path and every path setting; defaults to process.cwd(). */
  cwd?: string
}

/** defaults < YAML file < RSTMDB_* env, then secrets file, dedupe and validation (config.md §1, §3). */
export function loadConfig ({ argv = [], env = {}, cwd = process.cwd() }: LoadOptions = {}): Config {
  const warnings: string[] = []
  const settings = defaults()
  const values = settings as unknown as Values
  const given = configPath(argv, env)
  let file: string | null = null
  if (given !== undefined) {
    file = resolve(cwd, given)
    applyFile(values, KEYS, given, file, warnings)
  }
  applyEnv(values, KEYS, env)
  for (const { section, name, schema } of KEYS) {
    const value = values[section][name]
    if (schema.form === 'path' && typeof value === 'string') values[section][name] = resolve(cwd, value)
  }

  const { auth, tls, cluster } = settings
  const secrets = auth.secrets_file === null ? [] : readSecrets(auth.secrets_file, AuthSchema.properties.token_hashes.items)
  auth.token_hashes = [...new Set([...auth.token_hashes, ...secrets])]
  checkSettings(settings, warnings)
  return {
    ...settings,
    tls: { ...tls, material: tls.enabled ? readTlsMaterial(tls) : null },
    cluster: {
      ...cluster,
      node_id: cluster.node_id ?? `${hostname()}-${process.pid}`,
      nats_tls_ca_pem: cluster.enabled ? readNatsCa(cluster) : null
    },
    file,
    warnings
  }
}
