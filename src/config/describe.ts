import { formatAddress, type Address } from '../../protocol/address.js'
import { formatFsyncPolicy, type FsyncPolicy } from '../../storage/index.js'
import type { Form } from './keys.js'
import { KEYS, type Settings } from './schema.js'

const FORMATS: Partial<Record<Form, (value: any) => unknown>> = {
  address: (value: Address) => formatAddress(value),
  fsync_policy: (value: FsyncPolicy) => formatFsyncPolicy(value),
  token_hashes: (hashes: string[]) => hashes.length
}

/**
 * The effective configuration for the startup log, in the text forms of config.md: token
 * hashes as a count, secrets only as whether they are set.
 */
export function describeConfig (config: Settings & { file: string | null }): Record<string, unknown> {
  const sections: Record<string, Record<string, unknown>> = {}
  const source = config as unknown as Record<string, Record<string, unknown>>
  for (const { section, name, schema } of KEYS) {
    const value = source[section][name]
    const format = FORMATS[schema.form]
    sections[section] ??= {}
    sections[section][schema.logAs ?? name] = value === null
      ? null
      : schema.secret === true ? '[redacted]' : format === undefined ? value : format(value)
  }
  return { file: config.file, ...sections }
}
