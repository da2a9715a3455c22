import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import readline from 'node:readline'
import type { JsonObject } from '../../protocol/entries.js'
import { ClientError, type Client } from '../client/index.js'
import { listMachines, send } from './commands.js'
import { connectClient } from './connect.js'
import { describe, isConnectionLost } from './errors.js'
import {
  formatInstanceList,
  formatMachineList,
  formatWalStats,
  pretty,
} from './format.js'
import { CONNECT_TIMEOUT_MS, type Settings } from './settings.js'
import { styleFor, type Style } from './style.js'

/** The interactive shell (cli.md §7). */

const HISTORY_LIMIT = 1000
const LIST_LIMIT = 50

const HELP = `Available commands:
  help, ?                                   Show this help
  quit, exit, q                             Exit the REPL
  reconnect, rc                             Reconnect to the server
  ping                                      Ping the server
  info                                      Get server info

  put-machine, pm <name> <ver> <json...>    Register a machine definition
  get-machine, gm <name> <ver>              Get a machine definition
  list-machines, lm                         List all machines

  create, c <machine> <ver> [id] [ctx_json] Create an instance
  get, g <instance_id>                      Get instance state
  list-instances, li [machine] [state]      List instances (first ${LIST_LIMIT})
  delete, d <instance_id>                   Delete an instance
  apply, a <instance_id> <event> [payload]  Apply an event

  wal [from] [limit]                        Read WAL entries
  wal-stats, ws                             Show WAL statistics

JSON arguments to create and apply cannot contain spaces.`

type Action = string | { exit: true } | { reconnect: true }

interface ReplCommand {
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

const COMMANDS: ReplCommand[] = [
  { names: ['help', '?'], min: 0, usage: 'help', run: local(HELP) },
  { names: ['quit', 'exit', 'q'], min: 0, usage: 'quit', run: local({ exit: true }) },
  { names: ['reconnect', 'rc'], min: 0, usage: 'reconnect', run: local({ reconnect: true }) },
  {
    names: ['ping'],
    min: 0,
    usage: 'ping',
    run: async (c, _a, s) => { await send(c, 'PING'); return s.green('PONG') },
  },
  { names: ['info'], min: 0, usage: 'info', run: async (c) => pretty(await send(c, 'INFO')) },
  {
    names: ['put-machine', 'pm'],
    min: 3,
    usage: 'put-machine <name> <version> <definition_json>',
    run: async (c, [name, version, ...definition], s) => {
      const r = await send(c, 'PUT_MACHINE', { machine: name, version: integer(version, 'version'), definition: json(definition.join(' '), 'definition') })
      return `${r.created === false ? s.yellow('Exists') : s.green('Created')} ${s.cyan(name)} v${version} (checksum: ${String(r.stored_checksum)})`
    },
  },
  {
    names: ['get-machine', 'gm'],
    min: 2,
    usage: 'get-machine <name> <version>',
    run: async (c, [name, version]) => pretty((await send(c, 'GET_MACHINE', { machine: name, version: integer(version, 'version') })).definition),
  },
  {
    names: ['list-machines', 'lm'],
    min: 0,
    usage: 'list-machines',
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
    names: ['list-instances', 'li'],
    min: 0,
    usage: 'list-instances [machine] [state]',
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
  { names: ['wal-stats', 'ws'], min: 0, usage: 'wal-stats', run: async (c, _a, s) => formatWalStats(await send(c, 'WAL_STATS'), s) },
]

const BY_NAME = new Map(COMMANDS.flatMap(cmd => cmd.names.map(name => [name, cmd] as const)))
const NAMES = [...BY_NAME.keys()].sort()

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

  async function execute (line: string): Promise<boolean> {
    const words = line.trim().split(/\s+/)
    const command = BY_NAME.get(words[0].toLowerCase())
    if (command === undefined) {
      out(`Unknown command: ${words[0]}. Type 'help' for help.\n`)
      return true
    }
    const args = words.slice(1)
    if (args.length < command.min) {
      out(`Usage: ${command.usage}\n`)
      return true
    }
    let action: Action
    try {
      action = await command.run(client, args, s)
    } catch (err) {
      out(`${s.red('Error')}: ${describe(err)}`)
      if (isConnectionLost(err)) out(s.yellow("Hint: Use 'reconnect' command to reconnect to the server."))
      out('')
      return true
    }
    if (typeof action === 'string') {
      out(action + '\n')
    } else if ('exit' in action) {
      return false
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
