import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import readline from 'node:readline'
import type { JsonObject } from '../../protocol/entries.js'
import { ClientError, type Client } from '../client/index.js'
import { parseCommand, commandUsage, type Invocation } from './args.js'
import { COMMANDS, findCommand, type CommandSpec } from './commands-spec.js'
import { hashTokenOutcome, listMachines, prepareCommand, send } from './commands.js'
import { connectClient } from './connect.js'
import { describe, isConnectionLost, UsageError } from './errors.js'
import { followWatch } from './watch.js'
import { splitWords } from './words.js'
import {
  formatInstanceList,
  formatMachineList,
  formatWalStats,
  pretty,
} from './format.js'
import { CONNECT_TIMEOUT_MS, type Settings } from './settings.js'
import { styleFor, type Style } from './style.js'

/**
 * The interactive shell (cli.md §7). It takes every rstmdb-cli command with the same flags
 * and quoting as the command line (lines are split like a shell's, so JSON may hold spaces),
 * watches included; the short positional forms of the original REPL stay as shorthands.
 */

const HISTORY_LIMIT = 1000
const LIST_LIMIT = 50

type Action = string | { exit: true } | { reconnect: true } | { watch: Invocation }

interface Shorthand {
  names: string[]
  /** fewer words than this prints `usage` */
  min: number
  usage: string
  run: (client: Client, args: string[], s: Style) => Promise<Action>
}

function integer (word: string, what: string): number {
  if (!/^\d+$/.test(word)) throw new ClientError('INVALID_ARGUMENT', `invalid ${what} '${word}': expected a non-negative integer`)
  return Number(word)
}

function json (text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ClientError('INVALID_ARGUMENT', `invalid JSON in ${what}: ${(err as Error).message}`)
  }
}

const local = (action: Action) => async (): Promise<Action> => action

/** What only the REPL has. */
const SESSION: Shorthand[] = [
  { names: ['help', '?'], min: 0, usage: 'help [command]', run: async (_c, [name]) => help(name) },
  { names: ['quit', 'exit', 'q'], min: 0, usage: 'quit', run: local({ exit: true }) },
  { names: ['reconnect', 'rc'], min: 0, usage: 'reconnect', run: local({ reconnect: true }) },
]

/** The original REPL's positional forms (cli.md §7), kept under their short names. */
const SHORTHANDS: Shorthand[] = [
  {
    names: ['pm'],
    min: 3,
    usage: 'pm <name> <version> <definition_json>',
    run: async (c, [name, version, ...definition], s) => {
      const r = await send(c, 'PUT_MACHINE', { machine: name, version: integer(version, 'version'), definition: json(definition.join(' '), 'definition') })
      return `${r.created === false ? s.yellow('Exists') : s.green('Created')} ${s.cyan(name)} v${version} (checksum: ${String(r.stored_checksum)})`
    },
  },
  {
    names: ['gm'],
    min: 1,
    usage: 'gm <name> [version]',
    run: async (c, [name, version]) => {
      const params: JsonObject = { machine: name }
      if (version !== undefined) params.version = integer(version, 'version')
      return pretty((await send(c, 'GET_MACHINE', params)).definition)
    },
  },
  {
    names: ['lm'],
    min: 0,
    usage: 'lm',
    run: async (c, _a, s) => formatMachineList((await listMachines(c)).machines, s, 'No machines'),
  },
  {
    names: ['create', 'c'],
    min: 2,
    usage: 'create <machine> <version> [instance_id] [ctx_json]',
    run: async (c, [machine, version, id, ctx], s) => {
      const params: JsonObject = { machine, version: integer(version, 'version') }
      if (id !== undefined) params.instance_id = id
      if (ctx !== undefined) params.initial_ctx = json(ctx, 'ctx')
      const r = await send(c, 'CREATE_INSTANCE', params)
      return `${s.green('Created')} ${s.cyan(String(r.instance_id))} (state: ${s.yellow(String(r.state))}, offset: ${String(r.wal_offset)})`
    },
  },
  {
    names: ['get', 'g'],
    min: 1,
    usage: 'get <instance_id>',
    run: async (c, [id], s) => {
      const r = await send(c, 'GET_INSTANCE', { instance_id: id })
      return `${s.cyan(String(r.machine))} v${String(r.version)}\n  State: ${s.yellow(String(r.state))}\n  Context: ${pretty(r.ctx)}`
    },
  },
  {
    names: ['li'],
    min: 0,
    usage: 'li [machine] [state]',
    run: async (c, [machine, state], s) => {
      const params: JsonObject = { limit: LIST_LIMIT }
      if (machine !== undefined) params.machine = machine
      if (state !== undefined) params.state = state
      const r = await send(c, 'LIST_INSTANCES', params)
      return formatInstanceList(r, s, r.has_more === true ? `showing first ${LIST_LIMIT}` : null)
    },
  },
  {
    names: ['delete', 'd'],
    min: 1,
    usage: 'delete <instance_id>',
    run: async (c, [id], s) => {
      await send(c, 'DELETE_INSTANCE', { instance_id: id })
      return `${s.green('Deleted')} ${s.cyan(id)}`
    },
  },
  {
    names: ['apply', 'a'],
    min: 2,
    usage: 'apply <instance_id> <event> [payload_json]',
    run: async (c, [id, event, payload], s) => {
      const params: JsonObject = { instance_id: id, event }
      if (payload !== undefined) params.payload = json(payload, 'payload')
      const r = await send(c, 'APPLY_EVENT', params)
      return `${s.cyan(event)} ${String(r.from_state)} → ${s.yellow(String(r.to_state))} (offset: ${String(r.wal_offset)})`
    },
  },
  {
    names: ['wal'],
    min: 0,
    usage: 'wal [from] [limit]',
    run: async (c, [from, limit], s) => {
      const params: JsonObject = { from_offset: from === undefined ? 0 : integer(from, 'from') }
      if (limit !== undefined) params.limit = integer(limit, 'limit')
      const r = await send(c, 'WAL_READ', params)
      const records = Array.isArray(r.records) ? r.records as JsonObject[] : []
      if (records.length === 0) return s.yellow('No entries')
      return records.map(rec => `[${s.cyan(String(rec.sequence))}] ${s.yellow(String((rec.entry as JsonObject | undefined)?.type))}`).join('\n')
    },
  },
  { names: ['ws'], min: 0, usage: 'ws', run: async (c, _a, s) => formatWalStats(await send(c, 'WAL_STATS'), s) },
]

/** rstmdb-cli's commands as the REPL offers them: all but `repl` itself. */
const CLI_COMMANDS = COMMANDS.filter(c => c.name !== 'repl')

function help (name: string | undefined): string {
  const command = name === undefined ? undefined : findCommand(name.toLowerCase())
  if (command !== undefined && command.name !== 'repl') return commandUsage(command).replace('rstmdb-cli [GLOBAL OPTIONS] ', '')
  const rows = (items: Array<[string, string]>): string => {
    const width = Math.max(...items.map(([left]) => left.length))
    return items.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join('\n')
  }
  return [
    'Available commands:',
    rows([['help, ? [command]', 'this help, or one command\'s flags'], ['quit, exit, q', 'leave the REPL'], ['reconnect, rc', 'reconnect to the server']]),
    '',
    'Every rstmdb-cli command, with its flags and shell-style quoting (JSON may hold spaces):',
    rows(CLI_COMMANDS.map(c => [c.name, c.help])),
    '',
    'Shorthands of the original REPL (positional arguments):',
    rows(SHORTHANDS.map(c => [c.names.join(', '), c.usage])),
    '',
    "Example: apply-event -i order-1 -e PAY -p '{\"amount\": 5}'    Ctrl+C stops a watch.",
  ].join('\n')
}

const BY_NAME = new Map([...SESSION, ...SHORTHANDS].flatMap(cmd => cmd.names.map(name => [name, cmd] as const)))
const NAMES = [...BY_NAME.keys(), ...CLI_COMMANDS.map(c => c.name)].sort()

/** Tab completion of the command word (readline's completer contract). */
export function completeCommand (line: string): [string[], string] {
  if (/\s/.test(line.trimStart())) return [[], line]
  const word = line.trimStart().toLowerCase()
  const hits = NAMES.filter(name => name.startsWith(word))
  return [hits.length > 0 ? hits : NAMES, line]
}

function historyPath (env: Record<string, string | undefined>): string {
  return env.HOME === undefined || env.HOME === '' ? '.rstmdb_history' : join(env.HOME, '.rstmdb_history')
}

function loadHistory (path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(line => line.length > 0).slice(-HISTORY_LIMIT)
  } catch {
    return []
  }
}

function reconnect (settings: Settings): Promise<Client | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), CONNECT_TIMEOUT_MS) })
  const attempt = connectClient(settings.connection)
  return Promise.race([attempt, timeout]).then((outcome) => {
    clearTimeout(timer)
    // a connection that arrives after the timeout is not used
    if (outcome === 'timeout') attempt.then(late => late.destroy(), () => {})
    return outcome
  }, (err) => {
    clearTimeout(timer)
    throw err
  })
}

/** Resolves with the exit code (0) once the user leaves; a failed first connect rejects. */
export async function runRepl (settings: Settings, env = process.env): Promise<number> {
  const out = (text: string): void => { process.stdout.write(text + '\n') }
  const s = styleFor(process.stdout, env)
  out(s.bold(s.cyan('rstmdb CLI')))
  out(`Connecting to ${settings.address}...`)
  let client = await connectClient(settings.connection)
  out(s.green('Connected!'))

  const path = historyPath(env)
  const history = loadHistory(path)
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: 'rstmdb> ',
    completer: completeCommand,
    history: [...history].reverse(),
    historySize: HISTORY_LIMIT,
    removeHistoryDuplicates: true,
  })
  // lines typed with a leading space stay out of the in-session history too
  rl.on('history', (entries: string[]) => { if (entries[0]?.startsWith(' ') === true) entries.shift() })
  out("Type 'help' for available commands.\n")

  /** Runs a CLI command on this session's connection: its human output, or its result under --json. */
  async function runCommand (name: string, args: string[]): Promise<Action> {
    const command = findCommand(name) as CommandSpec
    const parsed = parseCommand(command, args)
    if ('help' in parsed) return help(name)
    if (!command.connects) {
      const outcome = hashTokenOutcome(parsed.positionals[0])
      return settings.json ? JSON.stringify(outcome.result) : outcome.text
    }
    if (command.name === 'watch-instance' || command.name === 'watch-all') return { watch: parsed }
    const outcome = await prepareCommand(parsed, s)(client)
    return settings.json ? JSON.stringify(outcome.result) : outcome.text
  }

  let stopWatch: (() => void) | null = null

  async function execute (line: string): Promise<boolean> {
    const raw = line.trim().split(/\s+/)
    const word = raw[0].toLowerCase()
    const shorthand = BY_NAME.get(word)
    const cli = CLI_COMMANDS.find(c => c.name === word)
    // the shorthands keep the original REPL's plain whitespace split (unquoted JSON); CLI commands split like a shell
    let args = raw.slice(1)
    if (shorthand === undefined) {
      try {
        args = splitWords(line).slice(1)
      } catch (err) {
        out(`${s.red('Error')}: ${describe(err)}\n`)
        return true
      }
    }
    if (shorthand === undefined && cli === undefined) {
      out(word === 'repl' ? 'Already in the REPL.\n' : `Unknown command: ${raw[0]}. Type 'help' for help.\n`)
      return true
    }
    if (shorthand !== undefined && args.length < shorthand.min) {
      out(`Usage: ${shorthand.usage}\n`)
      return true
    }
    let action: Action
    try {
      action = shorthand !== undefined ? await shorthand.run(client, args, s) : await runCommand(word, args)
    } catch (err) {
      out(`${s.red('Error')}: ${describe(err)}`)
      if (err instanceof UsageError) out(`Type 'help ${word}' for its flags.`)
      if (isConnectionLost(err)) out(s.yellow("Hint: Use 'reconnect' command to reconnect to the server."))
      out('')
      return true
    }
    if (typeof action === 'string') {
      out(action + '\n')
    } else if ('exit' in action) {
      return false
    } else if ('watch' in action) {
      try {
        const watching = followWatch(client, action.watch, { status: out, event: event => out(JSON.stringify(event)) }, s)
        stopWatch = watching.stop
        await watching.done
      } catch (err) {
        out(`${s.red('Error')}: ${describe(err)}`)
      } finally {
        stopWatch = null
      }
      out('')
    } else {
      await client.close()
      try {
        const fresh = await reconnect(settings)
        if (fresh === 'timeout') {
          out(s.red('Reconnect timed out (10s)') + '\n')
        } else {
          client = fresh
          out(s.green('Reconnected!') + '\n')
        }
      } catch (err) {
        out(`${s.red('Reconnect failed')}: ${describe(err)}\n`)
      }
    }
    return true
  }

  return await new Promise<number>((resolve) => {
    let queue = Promise.resolve(true)
    let leaving = false

    const interrupt = (): void => {
      // Ctrl+C during a watch stops the watch; at the prompt it only clears the line
      if (stopWatch !== null) return stopWatch()
      out('^C')
      rl.prompt()
    }
    const leave = async (): Promise<void> => {
      if (leaving) return
      leaving = true
      process.off('SIGINT', interrupt)
      rl.close()
      try {
        writeFileSync(path, history.slice(-HISTORY_LIMIT).map(line => line + '\n').join(''))
      } catch {
        // an unwritable history file must not stop the exit
      }
      await client.close()
      out(s.dim('Disconnected.'))
      resolve(0)
    }

    rl.on('SIGINT', interrupt)
    // with a pipe for stdin, Ctrl+C reaches the process as a signal instead of a keypress
    process.on('SIGINT', interrupt)
    rl.on('line', (line) => {
      if (line.trim() !== '' && !line.startsWith(' ') && history[history.length - 1] !== line) history.push(line)
      queue = queue.then(async (going) => {
        if (!going || leaving) return false
        if (line.trim() === '') {
          rl.prompt()
          return true
        }
        const keep = await execute(line)
        if (keep) rl.prompt()
        else await leave()
        return keep
      })
    })
    rl.on('close', () => {
      void queue.then(async (going) => {
        if (!going || leaving) return
        out('^D')
        await leave()
      })
    })
    rl.prompt()
  })
}
