#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { hashToken } from '../ops/auth.js'
import { parseCommandLine, type Invocation } from './args.js'
import { connect, type RcpClient } from './client.js'
import { prepareCommand } from './commands.js'
import { EXIT_OK, reportError, writeLine } from './report.js'
import { runRepl } from './repl.js'
import { resolveSettings, type Settings } from './settings.js'
import { styleFor } from './style.js'
import { runWatch } from './watch.js'

/** rstmdb-cli: argv → one command, the watch loop, or the REPL; always ends with an exit code (cli.md §6). */

function cliVersion (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

async function runOnce (settings: Settings, inv: Invocation): Promise<number> {
  const step = prepareCommand(inv, styleFor(process.stdout))
  let client: RcpClient | null = null
  try {
    client = await connect(settings.connection)
    const outcome = await step(client)
    writeLine(process.stdout, settings.json ? JSON.stringify(outcome.result) : outcome.text)
  } finally {
    await client?.close()
  }
  return EXIT_OK
}

async function run (argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv)
  if (parsed.kind === 'help') {
    writeLine(process.stdout, parsed.text)
    return EXIT_OK
  }
  if (parsed.kind === 'version') {
    writeLine(process.stdout, `rstmdb-cli ${cliVersion()}`)
    return EXIT_OK
  }
  const { globals, invocation } = parsed
  if (invocation.command.name === 'hash-token') {
    const hash = hashToken(invocation.positionals[0])
    writeLine(process.stdout, globals.json === true ? JSON.stringify({ hash }) : hash)
    return EXIT_OK
  }
  const settings = resolveSettings(globals, process.env)
  switch (invocation.command.name) {
    case 'repl': return await runRepl(settings)
    case 'watch-instance':
    case 'watch-all': return await runWatch(settings, invocation)
    default: return await runOnce(settings, invocation)
  }
}

/** exit only once stdout has taken everything written to it */
function exit (code: number): void {
  process.stdout.write('', () => process.exit(code))
}

const argv = process.argv.slice(2)
// a reader that goes away early (`| head`) is not an error worth a stack trace
process.stdout.on('error', () => process.exit(1))
run(argv).then(exit, (err: unknown) => exit(reportError(err, argv.includes('--json'))))
