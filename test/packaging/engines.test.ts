import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import semver from 'semver'
import t from 'tap'

/** dist/test/packaging → the repository root */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

interface LockPackage { engines?: { node?: string } | string[], optional?: boolean, os?: string[] }

t.test('every package npm installs accepts the Node.js version the project runs on (no EBADENGINE)', async t => {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> }
  const own = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }
  const floor = semver.minVersion(own.engines.node)?.version as string
  let checked = 0
  const refusing: string[] = []
  for (const [where, pkg] of Object.entries(lock.packages)) {
    const range = Array.isArray(pkg.engines) ? undefined : pkg.engines?.node
    // packages for other platforms are never installed here
    if (range === undefined || where === '' || (pkg.optional === true && pkg.os !== undefined && !pkg.os.includes(process.platform))) continue
    checked++
    if (!semver.satisfies(process.version, range)) refusing.push(`${where} (engines.node ${range})`)
  }
  t.same(refusing, [], `every package accepts ${process.version}`)
  t.ok(checked > 100, `${checked} packages declare engines`)
  t.ok(semver.satisfies(process.version, own.engines.node), `the project's engines (${own.engines.node}) accept ${process.version}; floor ${floor}`)
})
