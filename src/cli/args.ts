import { parseArgs, type ParseArgsConfig } from 'node:util'
import { COMMANDS, findCommand, GLOBAL_OPTIONS, type CommandSpec, type OptionSpec } from './commands-spec.js'
import { UsageError } from './errors.js'

/** argv → what to do (cli.md §1–2). Every mistake is a UsageError (exit 2). */

export type OptionValue = string | boolean | number | string[] | undefined

export interface Invocation {
  command: CommandSpec
  values: Record<string, OptionValue>
  positionals: string[]
}

export type Parsed =
  | { kind: 'help', text: string }
  | { kind: 'version' }
  | { kind: 'run', globals: Record<string, string | boolean | undefined>, invocation: Invocation }

type ParseOptions = NonNullable<ParseArgsConfig['options']>

function parseOptions (specs: Record<string, OptionSpec>): ParseOptions {
  const out: ParseOptions = {}
  for (const [name, spec] of Object.entries(specs)) {
    out[name] = spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short }
  }
  return out
}

/** node's messages name the option; they are kept but shortened to their first sentence */
function strictParse (args: string[], options: ParseOptions, allowPositionals: boolean, command: string | null): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true })
  } catch (err) {
    const message = (err as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, '')
    throw new UsageError(message, command)
  }
}

function optionLabel (name: string, spec: OptionSpec): string {
  return spec.short === undefined ? `--${name}` : `-${spec.short}, --${name}`
}

const INTEGER = /^\d+$/

function convert (name: string, spec: OptionSpec, raw: string | boolean | undefined, command: string): OptionValue {
  if (raw === undefined || typeof raw === 'boolean' || spec.type === 'boolean') return raw
  if (spec.integer === true) {
    if (!INTEGER.test(raw) || !Number.isSafeInteger(Number(raw))) {
      throw new UsageError(`invalid value '${raw}' for ${optionLabel(name, spec)}: expected a non-negative integer`, command)
    }
    return Number(raw)
  }
  if (spec.list === true) return raw.split(',').map(s => s.trim()).filter(s => s.length > 0)
  return raw
}

/** One command's flags and positionals, as the command line and the REPL both take them. */
export function parseCommand (command: CommandSpec, args: string[]): Invocation | { help: true } {
  const options = { ...parseOptions(command.options), help: { type: 'boolean' as const, short: 'h' } }
  const { values, positionals } = strictParse(args, options, true, command.name)
  if (values.help === true) return { help: true }
  const out: Record<string, OptionValue> = {}
  for (const [name, spec] of Object.entries(command.options)) {
    const raw = values[name] as string | boolean | undefined
    if (raw === undefined && spec.required === true) {
      throw new UsageError(`missing required option ${optionLabel(name, spec)} ${spec.value ?? ''}`.trimEnd(), command.name)
    }
    out[name] = convert(name, spec, raw ?? spec.default, command.name)
  }
  const wanted = command.positionals
  if (positionals.length < wanted.length) {
    throw new UsageError(`missing required argument <${wanted[positionals.length].name}>`, command.name)
  }
  if (positionals.length > wanted.length) {
    throw new UsageError(`unexpected argument '${positionals[wanted.length]}'`, command.name)
  }
  return { command, values: out, positionals }
}

/**
 * Global options come before the command. A lenient pass finds where the command
 * starts (it knows which global options take a value); each side is then parsed strictly.
 */
export function parseCommandLine (argv: string[]): Parsed {
  const globalOptions = parseOptions(GLOBAL_OPTIONS)
  const { tokens } = parseArgs({ args: argv, options: globalOptions, allowPositionals: true, strict: false, tokens: true })
  const first = tokens.find(t => t.kind === 'positional' || t.kind === 'option-terminator')
  const split = first === undefined ? argv.length : first.index
  const { values } = strictParse(argv.slice(0, split), globalOptions, false, null)
  if (values.help === true) return { kind: 'help', text: globalUsage() }
  if (values.version === true) return { kind: 'version' }

  const rest = argv.slice(first?.kind === 'option-terminator' ? split + 1 : split)
  const name = rest[0] ?? 'repl'
  const command = findCommand(name)
  if (command === undefined) throw new UsageError(`unknown command '${name}'`)
  const invocation = parseCommand(command, rest.slice(1))
  if ('help' in invocation) return { kind: 'help', text: commandUsage(command) }
  return { kind: 'run', globals: values as Record<string, string | boolean | undefined>, invocation }
}

function table (rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([left]) => left.length))
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join('\n')
}

function optionRows (specs: Record<string, OptionSpec & { env?: string }>): Array<[string, string]> {
  return Object.entries(specs).map(([name, spec]) => {
    const short = spec.short === undefined ? '    ' : `-${spec.short}, `
    const notes = [spec.required === true ? 'required' : '', spec.default !== undefined ? `default ${spec.default}` : '', spec.env !== undefined ? `env ${spec.env}` : '']
      .filter(s => s !== '')
    return [`${short}--${name}${spec.value === undefined ? '' : ' ' + spec.value}`, spec.help + (notes.length > 0 ? ` [${notes.join(', ')}]` : '')]
  })
}

export function globalUsage (): string {
  return [
    'Usage: rstmdb-cli [GLOBAL OPTIONS] [COMMAND [ARGS]]',
    '',
    'Without a command, starts the REPL.',
    '',
    'Global options (before the command):',
    table(optionRows(GLOBAL_OPTIONS)),
    '',
    'Commands:',
    table(COMMANDS.map(c => [c.name, c.help])),
    '',
    "Run 'rstmdb-cli <COMMAND> --help' for a command's options.",
  ].join('\n')
}

export function commandUsage (command: CommandSpec): string {
  const positionals = command.positionals.map(p => ` <${p.name}>`).join('')
  const lines = [`Usage: rstmdb-cli [GLOBAL OPTIONS] ${command.name}${Object.keys(command.options).length > 0 ? ' [OPTIONS]' : ''}${positionals}`, '', command.help]
  if (command.positionals.length > 0) {
    lines.push('', 'Arguments:', table(command.positionals.map(p => [`<${p.name}>`, p.help])))
  }
  lines.push('', 'Options:', table([...optionRows(command.options), ['-h, --help', 'print this help']]))
  return lines.join('\n')
}

export function usageFor (command: string | null): string {
  const spec = command === null ? undefined : findCommand(command)
  return spec === undefined ? globalUsage() : commandUsage(spec)
}
