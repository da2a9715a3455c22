import { parseArgs } from 'node:util'
import { parseAddress, type Address } from '../protocol/address.js'
import { launchServer, removeDir, type RunningServer } from './server.js'
import { formatReport } from './soak/report.js'
import { runSoak, SOAK_SERVER_ENV } from './soak/run.js'

/**
 * Soak and consistency run: mixed RCP + REST writes, reads, RCP and WebSocket watchers
 * that drop and resume, periodic COMPACT; then every acknowledged write, every watcher's
 * stream, every refused atomic batch and the server's memory are checked.
 *
 *   node dist/bench/soak.js [--duration 60] [--seed N] [--writers 4] [--json]
 *     [--address-rcp host:port --address-http host:port [--pid PID] [--token T]]
 *
 * Without addresses it starts its own server on a temp data dir (see SOAK_SERVER_ENV).
 * Exits 1 on any violation.
 */

function address (flag: string, text: string | undefined): Address | null {
  if (text === undefined) return null
  const parsed = parseAddress(text)
  if (parsed === null) throw new Error(`${flag}: not host:port: ${text}`)
  return parsed
}

async function main (): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '60' },
      seed: { type: 'string', default: String(Date.now() % 1_000_000) },
      writers: { type: 'string', default: '4' },
      'compact-every': { type: 'string', default: '3' },
      'rss-slack-mb': { type: 'string', default: '256' },
      'address-rcp': { type: 'string' },
      'address-http': { type: 'string' },
      pid: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const rcp = address('--address-rcp', values['address-rcp'])
  let server: RunningServer | null = null
  if (rcp === null) server = await launchServer({ env: SOAK_SERVER_ENV })
  // launchServer keeps every log line it parses (one per REST request at info); a long soak must not
  const forget = server === null ? null : setInterval(() => server?.logs.splice(0), 1000)
  try {
    const report = await runSoak({
      durationSec: Number(values.duration),
      seed: Number(values.seed),
      rcp: rcp ?? { host: '127.0.0.1', port: (server as RunningServer).rcpPort },
      http: server === null
        ? address('--address-http', values['address-http'])
        : { host: '127.0.0.1', port: server.httpPort as number },
      token: values.token ?? null,
      pid: server?.child.pid ?? (values.pid === undefined ? null : Number(values.pid)),
      writers: Number(values.writers),
      compactEverySec: Number(values['compact-every']),
      rssSlackMb: Number(values['rss-slack-mb']),
      log: line => process.stderr.write(`${line}\n`),
    })
    console.log(values.json ? JSON.stringify(report) : formatReport(report))
    return report.ok ? 0 : 1
  } finally {
    if (forget !== null) clearInterval(forget)
    if (server !== null) {
      await server.stop()
      removeDir(server.dataDir)
    }
  }
}

main().then(code => process.exit(code), err => {
  console.error(err)
  process.exit(1)
})
