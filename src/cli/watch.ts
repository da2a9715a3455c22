import type { JsonObject } from '../../protocol/entries.js'
import type { Invocation } from './args.js'
import { connect } from './client.js'
import type { Settings } from './settings.js'
import { EXIT_FAILURE, EXIT_OK, writeLine } from './report.js'
import { styleFor } from './style.js'

/** watch-instance / watch-all (cli.md §5): events on stdout, status on stderr. */

function watchRequest (inv: Invocation): { op: 'WATCH_INSTANCE' | 'WATCH_ALL', params: JsonObject } {
  const common: JsonObject = { include_ctx: inv.values['no-ctx'] !== true }
  if (inv.values['from-offset'] !== undefined) common.from_offset = inv.values['from-offset']
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
  const client = await connect(settings.connection)

  return await new Promise<number>((resolve, reject) => {
    let leaving = false
    let subscriptionId: string | null = null

    const leave = (code: number): void => {
      leaving = true
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      client.close().then(() => resolve(code), () => resolve(code))
    }

    function stop (): void {
      if (leaving) return
      status('\n' + s.dim('Stopping watch...'))
      leaving = true
      const unwatch = subscriptionId === null
        ? Promise.resolve()
        : client.request('UNWATCH', { subscription_id: subscriptionId }).then(() => {}, () => {})
      void unwatch.then(() => leave(EXIT_OK))
    }

    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    client.onClose(() => {
      if (leaving) return
      leaving = true
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      status(s.red('Connection closed'))
      resolve(EXIT_FAILURE)
    })

    client.watch(op, params, {
      event: (message) => { process.stdout.write(JSON.stringify(message) + '\n') },
      end: (message) => {
        if (leaving) return
        status(`${s.yellow('Subscription ended')} (${String(message.reason)}); resume with --from-offset ${String(message.resume_from_offset)}`)
        leave(EXIT_FAILURE)
      },
    }).then((result) => {
      subscriptionId = String(result.subscription_id)
      if (op === 'WATCH_INSTANCE') {
        status(`${s.green('Watching')} instance ${s.cyan(String(params.instance_id))} (sub_id: ${subscriptionId}, state: ${s.yellow(String(result.current_state))}, wal_offset: ${String(result.current_wal_offset)})`)
      } else {
        status(`${s.green('Watching')} all events (sub_id: ${subscriptionId}, wal_offset: ${String(result.wal_offset)})`)
      }
      status(s.dim('Press Ctrl+C to stop...'))
    }, (err) => {
      if (leaving) return
      leaving = true
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      client.close().then(() => reject(err), () => reject(err))
    })
  })
}
