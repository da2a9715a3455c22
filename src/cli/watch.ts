import type { JsonObject } from '../../protocol/entries.js'
import type { OpInput } from '../../protocol/schemas/registry.js'
import { ClientError, type Client } from '../client/index.js'
import type { Invocation } from './args.js'
import { connectClient } from './connect.js'
import type { Settings } from './settings.js'
import { EXIT_FAILURE, EXIT_OK, writeLine } from './report.js'
import { styleFor, type Style } from './style.js'

/** watch-instance / watch-all (cli.md §5): events on stdout, status on stderr. */

function watchRequest (inv: Invocation): { op: 'WATCH_INSTANCE' | 'WATCH_ALL', params: JsonObject } {
  const common: JsonObject = { include_ctx: inv.values['no-ctx'] !== true }
  if (inv.values['from-offset'] !== undefined) common.from_offset = inv.values['from-offset']
  if (inv.values.lifecycle === true) common.include_lifecycle = true
  if (inv.command.name === 'watch-instance') {
    return { op: 'WATCH_INSTANCE', params: { instance_id: inv.positionals[0], ...common } }
  }
  const params: JsonObject = { ...common }
  for (const [flag, param] of [['machines', 'machines'], ['from-states', 'from_states'], ['to-states', 'to_states'], ['events', 'events']]) {
    if (inv.values[flag] !== undefined) params[param] = inv.values[flag]
  }
  return { op: 'WATCH_ALL', params }
}

export interface WatchIo {
  /** a status line (stderr for the one-shot command) */
  status: (line: string) => void
  /** one event, as received */
  event: (message: JsonObject) => void
}

/**
 * Follows a watch on `client` until `stop()` is called (UNWATCH, resolves 0) or the server
 * ends it (resolves 1, after saying why). A failed WATCH rejects, for the caller to report.
 */
export function followWatch (client: Client, inv: Invocation, io: WatchIo, style: Style): { done: Promise<number>, stop: () => void } {
  const { op, params } = watchRequest(inv)
  const s = style
  const watch = op === 'WATCH_INSTANCE'
    ? client.watchInstance(params as OpInput<'WATCH_INSTANCE'>)
    : client.watchAll(params as OpInput<'WATCH_ALL'>)
  let stopping = false
  // UNWATCH; the loop below then ends
  const stop = (): void => {
    if (stopping) return
    stopping = true
    io.status('\n' + s.dim('Stopping watch...'))
    void watch.close()
  }
  const done = (async (): Promise<number> => {
    try {
      const result: JsonObject = await watch.subscribed
      const sid = String(result.subscription_id)
      if (op === 'WATCH_INSTANCE') {
        io.status(`${s.green('Watching')} instance ${s.cyan(String(params.instance_id))} (sub_id: ${sid}, state: ${s.yellow(String(result.current_state))}, wal_offset: ${String(result.current_wal_offset)})`)
      } else {
        io.status(`${s.green('Watching')} all events (sub_id: ${sid}, wal_offset: ${String(result.wal_offset)})`)
      }
      io.status(s.dim('Press Ctrl+C to stop...'))
      for await (const event of watch) io.event(event)
      return EXIT_OK
    } catch (err) {
      if (stopping) return EXIT_OK
      if (!(err instanceof ClientError)) throw err
      if (err.code === 'SUBSCRIPTION_ENDED') {
        io.status(`${s.yellow('Subscription ended')} (${String(err.details.reason)}); resume with --from-offset ${String(err.details.resume_from_offset)}`)
      } else if (err.code === 'CONNECTION_FAILED') {
        io.status(s.red('Connection closed'))
      } else {
        throw err
      }
      return EXIT_FAILURE
    }
  })()
  return { done, stop }
}

/**
 * watch-instance / watch-all as a command: resolves with the exit code, 0 when the user
 * stops it (SIGINT/SIGTERM), 1 when the server ends it. Connect and WATCH failures reject.
 */
export async function runWatch (settings: Settings, inv: Invocation): Promise<number> {
  const client = await connectClient(settings.connection)
  const { done, stop } = followWatch(client, inv, {
    status: line => writeLine(process.stderr, line),
    event: event => process.stdout.write(JSON.stringify(event) + '\n'),
  }, styleFor(process.stderr))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  try {
    return await done
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await client.close()
  }
}
