import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServer } from '../support/server.js'
import { tempDir } from '../support/temp-dir.js'
import { runnableBlocks, shellCommands, type Expectation } from './blocks.js'

// Every README block marked `runnable`, in README order, pasted into one shell against one fresh
// server, as a reader would: the curl and CLI commands, and the SDK example as a program.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const CLI_MAIN = path.join(ROOT, 'dist/src/cli/main.js')
/** what the curl wrapper writes on stderr after each response: the status the README's comment is checked against */
const STATUS_MARK = 'readme-http-status'

interface Step { text: string, line: number, expect: Expectation, shell: boolean }

const server = await startServer(t, { env: { RSTMDB_HTTP_ENABLED: 'true' } })
const work = tempDir(t, 'rstmdb-readme-')
// the SDK example imports 'rstmdb' as an application that installed the package does
mkdirSync(path.join(work, 'node_modules'))
symlinkSync(ROOT, path.join(work, 'node_modules', 'rstmdb'), 'dir')
const results = path.join(work, '.results')
mkdirSync(results)

/** The README's addresses and `npx rstmdb-cli` pointed at the test's server and the built CLI. */
function localize (code: string): string {
  return code
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${String(server.httpPort)}`)
    .replaceAll('127.0.0.1:7401', server.address)
    .replaceAll('npx rstmdb-cli', `node '${CLI_MAIN}'`)
}

const steps: Step[] = []
for (const block of runnableBlocks(readFileSync(path.join(ROOT, 'README.md'), 'utf8'))) {
  if (block.lang === 'sh') {
    for (const command of shellCommands(block)) steps.push({ ...command, text: localize(command.text), shell: true })
  } else if (block.lang === 'js') {
    const file = `example-${block.line}.mjs`
    writeFileSync(path.join(work, file), localize(block.code))
    steps.push({ text: `node ${file}`, line: block.line, expect: { exit: 0, status: null }, shell: false })
  } else {
    throw new Error(`README line ${block.line}: runnable blocks are sh or js, not ${block.lang}`)
  }
}

const script = [
  'set -o pipefail',
  `curl () { command curl --silent --show-error --write-out '%{stderr}${STATUS_MARK} %{http_code}\\n' "$@"; }`,
  ...steps.map((step, k) => `{ ${step.text}\n} >.results/${k}.out 2>.results/${k}.err </dev/null; echo $? >.results/${k}.rc`),
].join('\n')

t.test('the runnable examples reach only the test server', async t => {
  t.ok(steps.length > 0, 'the README has runnable blocks')
  t.notMatch(script, /:8080\b|:7401\b/, 'no address left that another server could answer')
})

t.test('the README runs top to bottom', async t => {
  await new Promise<void>(resolve => {
    execFile('bash', ['-c', script], {
      cwd: work,
      env: { PATH: process.env.PATH ?? '', HOME: work, RSTMDB_SERVER: server.address, NO_COLOR: '1' },
      timeout: 90_000,   // below tap's 120 s, so a hung command shows up as "did not finish" rather than a killed file
      killSignal: 'SIGKILL',
    }, () => resolve())
  })
  steps.forEach((step, k) => {
    const name = `README line ${step.line}: ${step.text.split('\n')[0].slice(0, 100)}`
    const rcFile = path.join(results, `${k}.rc`)
    if (!existsSync(rcFile)) {
      t.fail(`${name} did not finish`)
      return
    }
    const out = readFileSync(path.join(results, `${k}.out`), 'utf8')
    const err = readFileSync(path.join(results, `${k}.err`), 'utf8')
    const statuses = [...err.matchAll(new RegExp(`^${STATUS_MARK} (\\d{3})$`, 'gm'))].map(m => Number(m[1]))
    const shown = { stdout: out.slice(-2000), stderr: err.replaceAll(new RegExp(`^${STATUS_MARK} .*\\n`, 'gm'), '').slice(-2000) }
    t.equal(Number(readFileSync(rcFile, 'utf8')), step.expect.exit, `${name} exits ${step.expect.exit}`, shown)
    if (!step.shell) return
    const expected = step.expect.status
    if (expected !== null) {
      // a status comment on a line without curl is a README mistake, not a pass
      t.ok(statuses.length > 0 && statuses.every(s => s === expected), `${name} answers ${expected}`, { statuses, ...shown })
    } else {
      t.ok(statuses.every(s => s >= 200 && s < 300), `${name} answers 2xx`, { statuses, ...shown })
    }
  })
})
