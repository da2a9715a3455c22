#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { hashTokenOutcome } from './commands.js'
import { parseCommandLine } from './args.js'
import { EXIT_OK, reportError, writeLine } from './report.js'

/**
 * rstmdb-cli: argv → one command, the watch loop, or the REPL; always ends with an exit
 * code (cli.md §6). The network side is imported only when needed, so usage errors,
 * --help and hash-token start fast.
 */

function cliVersion (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
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
  if (!invocation.command.connects) {
    const { result, text } = hashTokenOutcome(invocation.positionals[0])
    writeLine(process.stdout, globals.json === true ? JSON.stringify(result) : text)
    return EXIT_OK
  }
  const { runConnected } = await import('./connected.js')
  return await runConnected(globals, invocation)
}

/** exit only once stdout has taken everything written to it */
function exit (code: number): void {
  process.stdout.write('', () => process.exit(code))
}

const argv = process.argv.slice(2)
// a reader that goes away early (`| head`) is not an error worth a stack trace
process.stdout.on('error', () => process.exit(1))
run(argv).then(exit, (err: unknown) => exit(reportError(err, argv.includes('--json'))))
