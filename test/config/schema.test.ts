import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Value } from '@sinclair/typebox/value'
import t from 'tap'
import {
  DEFAULT_COMPACTION, DEFAULT_STORAGE, DEFAULTS, defaults, formatAddress, formatFsyncPolicy, KEYS, loadConfig
} from '../../src/config.js'

t.test('every key has its own RSTMDB_* variable and a default its schema accepts', async (t) => {
  const envs = KEYS.map(({ schema }) => schema.env)
  t.same([...new Set(envs)], envs, 'no variable sets two keys')
  for (const { key, schema } of KEYS) {
    t.match(schema.env, /^RSTMDB_[A-Z0-9_]+$/, key)
    t.ok(Value.Check(schema, schema.default), `${key}: its default is valid`)
  }
})

t.test('openDatabase defaults are the schema defaults, and copies are fresh', async (t) => {
  t.equal(DEFAULT_STORAGE, DEFAULTS.storage)
  t.equal(DEFAULT_COMPACTION, DEFAULTS.compaction)
  const loaded = loadConfig({ cwd: '/srv' })
  t.same(loaded.compaction, DEFAULT_COMPACTION)
  t.same(loaded.storage, { ...DEFAULT_STORAGE, data_dir: '/srv/data' }, 'the same values, with the path resolved')
  const copy = defaults()
  copy.storage.fsync_policy = { kind: 'never' }
  copy.http.cors_origins.push('*')
  t.same(DEFAULTS.storage.fsync_policy, { kind: 'every_write' })
  t.same(DEFAULTS.http.cors_origins, [])
})

/** The default as the README's table writes it. */
function documented (form: string, value: unknown): string {
  if (value === null) return '–'
  if (form === 'address') return formatAddress(value as { host: string, port: number })
  if (form === 'fsync_policy') return formatFsyncPolicy(value as { kind: 'every_write' })
  return Array.isArray(value) ? JSON.stringify(value) : String(value)
}

t.test("the README's configuration table lists every key with its variable and default", async (t) => {
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8')
  const section = readme.slice(readme.indexOf('## Configuration'))
  const rows = new Map<string, { env: string, default: string }>()
  for (const match of section.matchAll(/^\| `([a-z_]+\.[a-z_]+)` \| `(RSTMDB_[A-Z0-9_]+)`[^|]* \| (`([^`]*)`|–) \|/gm)) {
    rows.set(match[1], { env: match[2], default: match[4] ?? match[3] })
  }
  t.same([...rows.keys()], KEYS.map(({ key }) => key), 'the same keys, in the same order')
  for (const { key, schema } of KEYS) {
    t.same(rows.get(key), { env: schema.env, default: documented(schema.form, schema.default) }, key)
  }
})
