import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServer } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'

// The example of README "SDK", run as it is printed, the way an application that installed the package runs it.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

function sdkExample (): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('\n## SDK'))
  const block = /```js(?: runnable)?\n([\s\S]*?)```/.exec(section)
  if (block === null) throw new Error('README "SDK" has no js example')
  return block[1]
}

t.test('the README SDK example runs against a server and prints what it says', async t => {
  const server = await startServer(t)
  const app = tempDir(t, 'rstmdb-app-')
  mkdirSync(path.join(app, 'node_modules'))
  symlinkSync(ROOT, path.join(app, 'node_modules', 'rstmdb'), 'dir')
  writeFileSync(path.join(app, 'example.mjs'), sdkExample())
  const { code, stdout, stderr } = await new Promise<{ code: number | null, stdout: string, stderr: string }>(resolve => {
    const child = execFile(process.execPath, ['example.mjs'], { cwd: app, env: { PATH: process.env.PATH ?? '', RSTMDB_SERVER: server.address }, timeout: 30_000 },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }))
  })
  t.equal(code, 0, stderr)
  t.match(stdout, /^shipped -> delivered at WAL offset \d+\nINVALID_TRANSITION delivered\n\d+ SHIP packed -> shipped \{ weight: 2, carrier: 'fedex' \}\n\d+ DELIVER shipped -> delivered \{ weight: 2, carrier: 'fedex' \}\n$/)
})
