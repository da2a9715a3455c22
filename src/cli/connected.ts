import type { Invocation } from './args.js'
import type { Client } from '../client/index.js'
import { prepareCommand } from './commands.js'
import { connectClient } from './connect.js'
import { EXIT_OK, writeLine } from './report.js'
import { runRepl } from './repl.js'
import { resolveSettings, type Settings } from './settings.js'
import { styleFor } from './style.js'
import { runWatch } from './watch.js'

/** Everything that talks to a server; main loads it only when a command needs it. */

async function runOnce (settings: Settings, inv: Invocation): Promise<number> {
  const step = prepareCommand(inv, styleFor(process.stdout))
  let client: Client | null = null
  try {
    client = await connectClient(settings.connection)
    const outcome = await step(client)
    writeLine(process.stdout, settings.json ? JSON.stringify(outcome.result) : outcome.text)
  } finally {
    await client?.close()
  }
  return EXIT_OK
}

export async function runConnected (globals: Record<string, string | boolean | undefined>, inv: Invocation): Promise<number> {
  const settings = resolveSettings(globals, process.env)
  switch (inv.command.name) {
    case 'repl': return await runRepl(settings)
    case 'watch-instance':
    case 'watch-all': return await runWatch(settings, inv)
    default: return await runOnce(settings, inv)
  }
}
