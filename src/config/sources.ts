import { readFileSync } from 'node:fs'
import type { TSchema } from '@sinclair/typebox'
import { parseDocument } from 'yaml'
import { ConfigError, fail, named, reasonOf } from './errors.js'
import type { KeyEntry } from './keys.js'
import { isMapping, readKey, show, tokenHash } from './read.js'

/** The two layers over the defaults (config.md §1): the YAML file, then RSTMDB_* variables. */

export type Env = Readonly<Record<string, string | undefined>>

/** Values by section and name; each layer sets the keys it has. */
export type Values = Record<string, Record<string, unknown>>

/** `--config <path>` / `--config=<path>` (the last one wins), else RSTMDB_CONFIG; undefined: no file. */
export function configPath (argv: readonly string[], env: Env): string | undefined {
  let found: string | undefined
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') {
      found = argv[++i]
      if (found === undefined || found === '') fail('--config requires a path')
    } else if (argv[i].startsWith('--config=')) {
      found = argv[i].slice('--config='.length)
      if (found === '') fail('--config requires a path')
    }
  }
  return found ?? (env.RSTMDB_CONFIG === '' ? undefined : env.RSTMDB_CONFIG)
}

/** Sets the keys the file has; unknown sections and keys become warnings. `given` is the path as the user wrote it. */
export function applyFile (values: Values, keys: readonly KeyEntry[], given: string, file: string, warnings: string[]): void {
  const content = readYaml(given, file, warnings)
  if (!isMapping(content)) return // an empty file: all defaults
  const byKey = new Map(keys.map((entry) => [entry.key, entry]))
  const sections = new Set(keys.map((entry) => entry.section))
  for (const [section, body] of Object.entries(content)) {
    if (!sections.has(section)) {
      warnings.push(`unknown config section '${section}' in '${given}' ignored`)
      continue
    }
    if (body === null) continue
    if (!isMapping(body)) fail(`invalid ${section} in config file '${given}': expected a mapping of keys, got ${show(body)}`)
    for (const [name, raw] of Object.entries(body)) {
      const key = `${section}.${name}`
      const entry = byKey.get(key)
      if (entry === undefined) warnings.push(`unknown config key '${key}' in '${given}' ignored`)
      else if (raw !== null) values[section][name] = named(`${key} in config file '${given}'`, () => readKey(entry.schema, raw))
    }
  }
}

function readYaml (given: string, file: string, warnings: string[]): unknown {
  let source: string
  try {
    source = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`failed to read config file '${given}': ${reasonOf(err)}`)
  }
  try {
    const doc = parseDocument(source)
    if (doc.errors.length > 0) throw doc.errors[0]
    for (const warning of doc.warnings) warnings.push(`config file '${given}': ${warning.message}`)
    const content: unknown = doc.toJS()
    if (content !== null && content !== undefined && !isMapping(content)) fail('expected a mapping of sections at the top level')
    return content
  } catch (err) {
    throw new ConfigError(`failed to parse config file '${given}': ${reasonOf(err)}`)
  }
}

/** Sets the keys whose variable is set; a list key marked `envAppends` adds to the file's list. */
export function applyEnv (values: Values, keys: readonly KeyEntry[], env: Env): void {
  for (const { section, name, schema } of keys) {
    const found = envValue(schema.env, schema.envFallback, env, (raw) => readKey(schema, raw))
    if (found === undefined) continue
    const body = values[section]
    body[name] = schema.envAppends === true ? [...body[name] as unknown[], ...found as unknown[]] : found
  }
}

/** An empty value counts as unset; the fallback variable is only taken when its value reads. */
function envValue (name: string, fallback: string | undefined, env: Env, read: (raw: string) => unknown): unknown {
  const value = env[name]
  if (value !== undefined && value !== '') return named(name, () => read(value))
  const other = fallback === undefined ? undefined : env[fallback]
  if (other === undefined || other === '') return undefined
  try {
    return read(other)
  } catch (err) {
    if (err instanceof ConfigError) return undefined
    throw err
  }
}

/** auth.secrets_file: one hash per line; blank lines and `#` comments skipped (config.md §2). */
export function readSecrets (file: string, hash: TSchema): string[] {
  let source: string
  try {
    source = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`failed to read auth.secrets_file '${file}': ${reasonOf(err)}`)
  }
  const hashes: string[] = []
  source.split('\n').forEach((line, i) => {
    const entry = line.trim()
    if (entry !== '' && !entry.startsWith('#')) hashes.push(named(`auth.secrets_file '${file}' line ${i + 1}`, () => tokenHash(entry, hash)))
  })
  return hashes
}
