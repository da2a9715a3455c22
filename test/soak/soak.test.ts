import t from 'tap'
import { runSoak } from '../../bench/soak/run.js'
import { formatReport } from '../../bench/soak/report.js'
import { SOAK_SERVER_ENV } from '../../bench/soak/run.js'
import { startServer } from '../support/server.js'

// the shortened soak of bench/soak.ts: both faces, every traffic kind, every check
t.test('a 15 s soak over RCP and HTTP keeps every acknowledged write and every watcher stream exact', async t => {
  const server = await startServer(t, { env: SOAK_SERVER_ENV })
  const report = await runSoak({
    durationSec: 15,
    seed: 20240601,
    rcp: { host: '127.0.0.1', port: server.rcpPort },
    http: { host: '127.0.0.1', port: server.httpPort as number },
    token: null,
    pid: server.child.pid as number,
    writers: 3,
    compactEverySec: 3,
    rssSlackMb: 256,
    log: () => {},
  })
  t.comment(formatReport(report))
  t.same(report.violations, [], 'no violations')
  t.equal(report.violation_count, 0)
  for (const kind of ['acked creates', 'acked events', 'idempotent replays', 'atomic batches applied', 'atomic batches refused', 'best-effort batches', 'reads', 'lists', 'compactions', 'instances verified']) {
    t.ok((report.counts[kind] ?? 0) > 0, `the run exercised: ${kind}`)
  }
  t.equal(report.watchers.length, 8, 'four RCP and four WebSocket watchers')
  for (const w of report.watchers) {
    t.equal(w.received, w.expected, `${w.name} received every matching event`)
    t.ok(w.expected > 0, `${w.name} had events to check`)
  }
  t.ok(report.watchers.filter(w => w.sessions > 1).length >= 6, 'the disconnecting watchers resumed')
  t.not(report.memory, null, 'server memory was measured')
})
