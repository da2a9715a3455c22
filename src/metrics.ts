import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { DatabaseStats } from './ops/index.js'

/**
 * The one prom-client registry of the process, fed by both faces (label
 * `face="rcp"|"http"`). Names are the original product's, so existing rstmdb
 * Grafana dashboards keep working; `rstmdb_instances_total` and
 * `rstmdb_machines_total` are gauges despite the suffix (config.md `metrics`).
 */

export type Face = 'rcp' | 'http'

/** What one face reports: its connections and requests. */
export interface FaceHooks {
  opened: () => void
  closed: () => void
  /** one request of `op`; code is the RCP error code, or null on success */
  request: (op: string, code: string | null, seconds: number) => void
}

/** The Prometheus endpoint: what a /metrics route needs. */
export interface MetricsText {
  /** Prometheus text format */
  render: () => Promise<string>
  readonly contentType: string
}

export interface Metrics extends MetricsText {
  /** the database exists only after recovery; until then its metrics are absent (cluster metrics only in cluster mode) */
  attach: (stats: () => DatabaseStats) => void
  face: (face: Face) => FaceHooks
  /** open connections on both faces, for INFO */
  connections: () => number
}

export function createMetrics (): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  let read: (() => DatabaseStats) | null = null
  const open: Record<Face, number> = { rcp: 0, http: 0 }

  const connectionsTotal = new Counter({ name: 'rstmdb_connections_total', help: 'Connections accepted', labelNames: ['face'], registers: [registry] })
  const connectionsActive = new Gauge({ name: 'rstmdb_connections_active', help: 'Connections open now', labelNames: ['face'], registers: [registry] })
  const requestsTotal = new Counter({ name: 'rstmdb_requests_total', help: 'Requests by operation and outcome', labelNames: ['face', 'op', 'status'], registers: [registry] })
  const errorsTotal = new Counter({ name: 'rstmdb_errors_total', help: 'Failed requests by RCP error code', labelNames: ['face', 'code'], registers: [registry] })
  const duration = new Histogram({
    name: 'rstmdb_request_duration_seconds',
    help: 'Request duration by operation, including the durability wait of writes',
    labelNames: ['face', 'op'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })
  for (const face of ['rcp', 'http'] as const) {
    connectionsTotal.inc({ face }, 0)
    connectionsActive.set({ face }, 0)
  }

  /** A gauge whose value is read from the database at scrape time. */
  function sampled (name: string, help: string, pick: (s: DatabaseStats) => number | Array<[Record<string, string>, number]>): void {
    registry.registerMetric(new Gauge({
      name,
      help,
      labelNames: name === 'rstmdb_subscriptions_active' ? ['type'] : [],
      registers: [],
      collect () {
        if (read === null) return
        const value = pick(read())
        if (typeof value === 'number') this.set(value)
        else for (const [labels, v] of value) this.set(labels, v)
      },
    }))
  }
  /** A counter mirrored from a monotonic database value at scrape time. */
  function mirrored (name: string, help: string, pick: (s: DatabaseStats) => number): void {
    let last = 0
    registry.registerMetric(new Counter({
      name,
      help,
      registers: [],
      collect () {
        if (read === null) return
        const value = pick(read())
        if (value > last) this.inc(value - last)
        last = Math.max(last, value)
      },
    }))
  }

  sampled('rstmdb_subscriptions_active', 'Active subscriptions on both faces', s => {
    const { instanceSubscriptions, allSubscriptions } = s.bus
    return [[{ type: 'instance' }, instanceSubscriptions], [{ type: 'all' }, allSubscriptions]]
  })
  mirrored('rstmdb_events_forwarded_total', 'Events handed to subscribers', s => s.bus.eventsForwarded)
  sampled('rstmdb_instances_total', 'Live instances', s => s.engine.instances)
  sampled('rstmdb_machines_total', 'Registered machine name+version pairs', s => s.engine.machines)
  sampled('rstmdb_wal_entries', 'Records kept in WAL segments', s => s.wal.entry_count)
  sampled('rstmdb_wal_segments', 'WAL segment files', s => s.wal.segment_count)
  sampled('rstmdb_wal_size_bytes', 'Total size of the WAL segments', s => s.wal.total_size_bytes)
  sampled('rstmdb_wal_latest_offset', 'Highest committed WAL offset', s => s.wal.latest_offset ?? 0)
  mirrored('rstmdb_wal_bytes_written_total', 'Bytes written to the WAL', s => s.wal.io_stats.bytes_written)
  mirrored('rstmdb_wal_bytes_read_total', 'Bytes read from the WAL', s => s.wal.io_stats.bytes_read)
  mirrored('rstmdb_wal_writes_total', 'WAL write calls', s => s.wal.io_stats.writes)
  mirrored('rstmdb_wal_reads_total', 'WAL read calls', s => s.wal.io_stats.reads)
  mirrored('rstmdb_wal_fsyncs_total', 'WAL fsync calls', s => s.wal.io_stats.fsyncs)

  /** cluster.md §7, registered once a cluster node attaches */
  function clusterMetrics (): void {
    const of = (s: DatabaseStats): NonNullable<DatabaseStats['cluster']> => s.cluster as NonNullable<DatabaseStats['cluster']>
    sampled('rstmdb_cluster_leader', '1 on the node that decides writes, else 0', s => of(s).leader ? 1 : 0)
    sampled('rstmdb_cluster_term', 'Leader term this node is in', s => of(s).term)
    sampled('rstmdb_cluster_applied_offset', 'Highest stream offset this node has applied', s => of(s).applied_offset)
    sampled('rstmdb_cluster_lag_entries', 'Stream entries this node has not applied yet', s => of(s).lag_entries)
    mirrored('rstmdb_cluster_forwarded_total', 'Writes this node forwarded to the leader', s => of(s).forwarded)
    mirrored('rstmdb_cluster_elections_total', 'Elections this node won', s => of(s).elections)
  }

  function face (name: Face): FaceHooks {
    const total = connectionsTotal.labels(name)
    const active = connectionsActive.labels(name)
    // label children per op, made once: recording a request allocates nothing
    const perOp = new Map<string, { ok: Counter.Internal, error: Counter.Internal, seconds: Histogram.Internal<string> }>()
    const perCode = new Map<string, Counter.Internal>()
    return {
      opened () {
        open[name]++
        total.inc()
        active.inc()
      },
      closed () {
        open[name]--
        active.dec()
      },
      request (op, code, seconds) {
        let o = perOp.get(op)
        if (o === undefined) {
          o = { ok: requestsTotal.labels(name, op, 'ok'), error: requestsTotal.labels(name, op, 'error'), seconds: duration.labels(name, op) }
          perOp.set(op, o)
        }
        o.seconds.observe(seconds)
        if (code === null) {
          o.ok.inc()
          return
        }
        o.error.inc()
        let c = perCode.get(code)
        if (c === undefined) perCode.set(code, c = errorsTotal.labels(name, code))
        c.inc()
      },
    }
  }

  return {
    attach (stats) {
      if (read === null && stats().cluster !== undefined) clusterMetrics()
      read = stats
    },
    face,
    connections: () => open.rcp + open.http,
    render: () => registry.metrics(),
    contentType: registry.contentType,
  }
}
