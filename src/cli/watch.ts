import type { JsonObject } from '../../protocol/entries.js'
import type { OpInput } from '../../protocol/schemas/registry.js'
import { ClientError } from '../client/index.js'
import type { Invocation } from './args.js'
import { connectClient } from './connect.js'
import type { Settings } from './settings.js'
import { EXIT_FAILURE, EXIT_OK, writeLine } from './report.js'
import { styleFor } from './style.js'

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

/**
 * Resolves with the exit code: 0 when the user stops it (SIGINT/SIGTERM), 1 when the
 * server ends it. Connect and WATCH failures reject, for the caller to report.
 */
export async function runWatch (settings: Settings, inv: Invocation): Promise<number> {
  const { op, params } = watchRequest(inv)
  const s = styleFor(process.stderr)
  const status = (line: string): void => writeLine(process.stderr, line)
  const client = await connectClient(settings.connection)
  const watch = op === 'WATCH_INSTANCE'
    ? client.watchInstance(params as OpInput<'WATCH_INSTANCE'>)
    : client.watchAll(params as OpInput<'WATCH_ALL'>)

  let stopping = false
  // UNWATCH; the loop below then ends, and BYE follows
  const stop = (): void => {
    if (stopping) return
    stopping = true
    status('\n' + s.dim('Stopping watch...'))
    void watch.close()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  try {
    const result: JsonObject = await watch.subscribed
    const sid = String(result.subscription_id)
    if (op === 'WATCH_INSTANCE') {
      status(`${s.green('Watching')} instance ${s.cyan(String(params.instance_id))} (sub_id: ${sid}, state: ${s.yellow(String(result.current_state))}, wal_offset: ${String(result.current_wal_offset)})`)
    } else {
      status(`${s.green('Watching')} all events (sub_id: ${sid}, wal_offset: ${String(result.wal_offset)})`)
    }
    status(s.dim('Press Ctrl+C to stop...'))
    for await (const event of watch) process.stdout.write(JSON.stringify(event) + '\n')
    return EXIT_OK
  } catch (err) {
    if (stopping) return EXIT_OK
    if (!(err instanceof ClientError)) throw err
    if (err.code === 'SUBSCRIPTION_ENDED') {
      status(`${s.yellow('Subscription ended')} (${String(err.details.reason)}); resume with --from-offset ${String(err.details.resume_from_offset)}`)
    } else if (err.code === 'CONNECTION_FAILED') {
      status(s.red('Connection closed'))
    } else {
      throw err
    }
    return EXIT_FAILURE
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await client.close()
  }
}
