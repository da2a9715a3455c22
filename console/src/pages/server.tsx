import { Fragment } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, asProblem, type Problem } from '../api.js'
import type { Info } from '../features.js'
import { JsonTree } from '../ui/json-tree.js'
import { ProblemView } from '../ui/problem.js'
import { useResource } from '../ui/resource.js'

interface WalStats {
  entry_count: number
  segment_count: number
  total_size_bytes: number
  latest_offset: number | null
  earliest_offset: number
  fsync_policy: string
  io_stats: Record<string, number>
}

const REFRESH_MS = 5000

function bytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

function duration (secs: number): string {
  const d = Math.floor(secs / 86400)
  const h = Math.floor(secs % 86400 / 3600)
  const m = Math.floor(secs % 3600 / 60)
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m ${secs % 60}s`
}

async function health (path: string): Promise<string> {
  const res = await fetch(path)
  const body = await res.json().catch(() => ({})) as { status?: string }
  return `${res.status} ${body.status ?? ''}`.trim()
}

/** INFO, WAL stats, health and compaction; cluster role and lag when INFO carries `cluster`. */
export function ServerPage () {
  const [tick, setTick] = useState(0)
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), REFRESH_MS)
    return () => clearInterval(timer)
  }, [])
  const info = useResource(async () => (await api<Info>('GET', '/v1/info')).data, [tick])
  const wal = useResource(async () => (await api<WalStats>('GET', '/v1/wal/stats')).data, [tick])
  const probes = useResource(async () => ({ healthz: await health('/healthz'), readyz: await health('/readyz') }), [tick])
  const [compaction, setCompaction] = useState<{ result?: Record<string, number>, problem?: Problem, busy: boolean }>({ busy: false })

  const compact = async (): Promise<void> => {
    setCompaction({ busy: true })
    try {
      const res = await api<Record<string, number>>('POST', '/v1/compact', { json: { force_snapshot: true } })
      setCompaction({ result: res.data, busy: false })
    } catch (err) {
      setCompaction({ problem: asProblem(err), busy: false })
    }
  }

  const i = info.data
  const w = wal.data
  return (
    <section>
      <div class='page-head'><h1>Server</h1><span class='muted small'>refreshes every {REFRESH_MS / 1000} s</span></div>
      {info.problem !== null && <ProblemView problem={info.problem} />}
      <div class='grid-3'>
        <div class='card'>
          <h2>Info</h2>
          {i !== null && (
            <dl class='facts'>
              <dt>Server</dt><dd>{i.server_name} <span class='mono'>{i.server_version}</span></dd>
              <dt>Protocol</dt><dd class='mono'>{i.protocol_version}</dd>
              <dt>Uptime</dt><dd>{duration(i.uptime_secs)}</dd>
              <dt>WAL head</dt><dd class='mono'>{i.wal_offset}</dd>
              <dt>Machines</dt><dd class='mono'>{i.machines}</dd>
              <dt>Instances</dt><dd class='mono'>{i.instances}</dd>
              <dt>Connections</dt><dd class='mono'>{i.connections}</dd>
              <dt>Features</dt><dd>{i.features.map((f) => <code key={f} class='chip'>{f}</code>)}</dd>
            </dl>
          )}
        </div>
        <div class='card'>
          <h2>Write-ahead log</h2>
          {wal.problem !== null && <ProblemView problem={wal.problem} />}
          {w !== null && (
            <dl class='facts'>
              <dt>Entries</dt><dd class='mono'>{w.entry_count}</dd>
              <dt>Segments</dt><dd class='mono'>{w.segment_count}</dd>
              <dt>Size</dt><dd>{bytes(w.total_size_bytes)}</dd>
              <dt>Offsets</dt><dd class='mono'>{w.earliest_offset} … {w.latest_offset ?? '–'}</dd>
              <dt>fsync</dt><dd class='mono'>{w.fsync_policy}</dd>
              <dt>fsyncs</dt><dd class='mono'>{w.io_stats.fsyncs}</dd>
              <dt>Written</dt><dd>{bytes(w.io_stats.bytes_written ?? 0)}</dd>
            </dl>
          )}
          <div class='actions'>
            <button type='button' onClick={() => { void compact() }} disabled={compaction.busy}>{compaction.busy ? 'Compacting…' : 'Compact now'}</button>
          </div>
          {compaction.result !== undefined && (
            <p class='ok-text small' role='status'>
              Compacted: {compaction.result.snapshots_created} snapshot(s), {compaction.result.segments_deleted} segment(s) deleted, {bytes(compaction.result.bytes_reclaimed)} reclaimed.
            </p>
          )}
          {compaction.problem !== undefined && <ProblemView problem={compaction.problem} />}
        </div>
        <div class='card'>
          <h2>Health</h2>
          {probes.problem !== null && <ProblemView problem={probes.problem} />}
          {probes.data !== null && (
            <dl class='facts'>
              <dt><code>/healthz</code></dt><dd class={probes.data.healthz.startsWith('200') ? 'ok-text' : 'error-text'}>{probes.data.healthz}</dd>
              <dt><code>/readyz</code></dt><dd class={probes.data.readyz.startsWith('200') ? 'ok-text' : 'error-text'}>{probes.data.readyz}</dd>
            </dl>
          )}
          {i?.cluster !== undefined && (
            <>
              <h3>Cluster</h3>
              <ClusterFacts cluster={i.cluster} />
            </>
          )}
        </div>
      </div>
    </section>
  )
}

function ClusterFacts ({ cluster }: { cluster: Record<string, unknown> }) {
  const known = ['role', 'node_id', 'leader', 'lag', 'replication_lag', 'term']
  return (
    <>
      <dl class='facts'>
        {known.filter((k) => cluster[k] !== undefined).map((k) => (
          <Fragment key={k}><dt>{k.replace(/_/g, ' ')}</dt><dd class='mono'>{typeof cluster[k] === 'object' ? JSON.stringify(cluster[k]) : String(cluster[k])}</dd></Fragment>
        ))}
      </dl>
      <details><summary class='small'>all cluster fields</summary><JsonTree value={cluster} /></details>
    </>
  )
}
