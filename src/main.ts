#!/usr/bin/env node
import { ConfigError, describeConfig, formatAddress, loadConfig, type Config } from './config.js'
import { createLogger, type Logger } from './logger.js'
import { openDatabase, type Database } from './ops/index.js'
import type { ClusterNode } from './cluster/index.js'
import { LockHeldError, WalCorruptionError, lockDataDir } from '../storage/index.js'
import { createTokenChecker } from './ops/auth.js'
import { startRcpServer, type RcpServer } from './rcp/server.js'
import { createMetrics } from './metrics.js'
import { startHttpServer, type HttpServer } from '../routes/server.js'
import { startMetricsListener, type MetricsListener } from '../routes/metrics-listener.js'

/**
 * What both faces are given: the single-node database, or in cluster mode (cluster.md) a node
 * of the cluster, which offers the same services over the shared log.
 */
type Served = Database | ClusterNode

/** Single node: recovery from the data directory. Cluster: the node's state from JetStream; no data directory. */
async function openServed (config: Config, logger: Logger, releaseLock: () => void): Promise<Served> {
  if (!config.cluster.enabled) {
    return await openDatabase({
      storage: config.storage,
      compaction: config.compaction,
      queueLimit: config.subscriptions.queue_limit,
      readWaitMs: config.cluster.read_wait_ms,
      releaseLock,
      logger,
    })
  }
  // loaded only in cluster mode: a single node never loads the NATS client
  const { startClusterNode } = await import('./cluster/index.js')
  return await startClusterNode({
    cluster: config.cluster,
    storage: config.storage,
    compaction: config.compaction,
    queueLimit: config.subscriptions.queue_limit,
    logger,
  })
}

/**
 * The process entry: configuration, then recovery, then the listeners, in the
 * order of config.md §3; a signal runs the shutdown order in reverse.
 */
async function start (config: Config, logger: Logger): Promise<() => Promise<void>> {
  // before anything binds: a second server on the same data directory stops here, quietly (cluster mode has none)
  const releaseLock = config.cluster.enabled ? () => {} : lockDataDir(config.storage.data_dir, logger)
  const metrics = createMetrics()
  const tokens = createTokenChecker(config.auth.token_hashes, config.auth.required)
  let rcp: RcpServer | null = null
  // the gateway and the metrics listener bind before recovery: health, metrics and the document answer meanwhile
  const http: HttpServer | null = config.http.enabled
    ? await startHttpServer({
      host: config.http.bind_addr.host,
      port: config.http.bind_addr.port,
      bodyLimit: config.http.body_limit,
      corsOrigins: config.http.cors_origins,
      tokens,
      metrics,
      metricsRequireAuth: config.metrics.require_auth,
      hooks: metrics.face('http'),
      logger,
      connections: metrics.connections,
    })
    : null
  let metricsListener: MetricsListener | null = null
  let db: Served | null = null
  const closeAll = async (): Promise<void> => {
    // a leader hands over first: the others elect a new one while this node's listeners drain
    if (db !== null && 'handOver' in db) await db.handOver()
    await Promise.all([rcp?.close(), http?.close(), metricsListener?.close()])
    if (db === null) releaseLock()
    else await db.close()
  }
  try {
    if (config.metrics.enabled) {
      metricsListener = await startMetricsListener({
        host: config.metrics.bind_addr.host,
        port: config.metrics.bind_addr.port,
        metrics,
        tokens,
        requireAuth: config.metrics.require_auth,
        logger,
      })
    }
    db = await openServed(config, logger, releaseLock)
    metrics.attach(db.stats)
    http?.attach(db)
    rcp = await startRcpServer({
      host: config.network.bind_addr.host,
      port: config.network.bind_addr.port,
      maxConnections: config.network.max_connections,
      idleTimeoutSecs: config.network.idle_timeout_secs,
      tls: config.tls.material === null
        ? undefined
        : { ...config.tls.material, requireClientCert: config.tls.require_client_cert },
      services: db,
      tokens,
      logger,
      connections: metrics.connections,
      hooks: metrics.face('rcp'),
    })
  } catch (err) {
    await closeAll()
    throw err
  }
  http?.ready()
  const address = (a: { address: string, port: number }): string => formatAddress({ host: a.address, port: a.port })
  // cluster.md §5: serve, then join the election
  if ('join' in db) db.join({ rcpAddr: address(rcp.address), httpAddr: http === null ? null : address(http.address) })
  logger.info({
    rcp: address(rcp.address),
    tls: config.tls.enabled,
    ...(config.cluster.enabled ? { cluster: config.cluster.node_id } : {}),
    ...(http === null ? {} : { http: address(http.address) }),
    ...(metricsListener === null ? {} : { metrics: address(metricsListener.address) }),
  }, 'ready')

  return closeAll
}

/** a cluster node that cannot reach NATS or JetStream, or finds the stream or a bucket set up otherwise (cluster.md §2, §5) */
const CLUSTER_REFUSALS = new Set(['NatsConnectError', 'IncompatibleSettingsError', 'JetStreamUnavailableError'])

function isExpected (err: unknown): err is Error {
  return err instanceof LockHeldError || err instanceof WalCorruptionError || CLUSTER_REFUSALS.has((err as Error)?.name) ||
    (err instanceof Error && 'code' in err && (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL'))
}

function fatal (message: string): never {
  process.stderr.write(`rstmdb: ${message}\n`)
  process.exit(1)
}

async function main (): Promise<void> {
  let config: Config
  try {
    config = loadConfig({ argv: process.argv.slice(2), env: process.env })
  } catch (err) {
    if (err instanceof ConfigError) fatal(err.message)
    throw err
  }
  const logger = createLogger(config.logging)
  for (const warning of config.warnings) logger.warn(warning)
  logger.info({ config: describeConfig(config) }, 'effective configuration')

  // handlers go in before anything binds: a signal during startup stops the server once it is up,
  // instead of killing it with the default action right after it said "ready"
  let stop: (() => Promise<void>) | null = null
  let signalled: string | null = null
  const shutdown = (): void => {
    if (stop === null || signalled === null) return
    logger.info({ signal: signalled }, 'shutting down')
    stop().then(() => {
      logger.info('stopped')
      process.exit(0)
    }, err => {
      logger.error({ err }, 'shutdown failed')
      process.exit(1)
    })
    stop = null
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      signalled ??= signal
      shutdown()
    })
  }

  try {
    stop = await start(config, logger)
  } catch (err) {
    // the expected refusals (held LOCK, corrupt WAL, busy port) are one line; anything else keeps its stack
    logger.error(isExpected(err) ? { error: err.message } : { err }, 'startup failed')
    fatal(err instanceof Error ? err.message : String(err))
  }
  shutdown()
}

main().catch(err => fatal(err instanceof Error ? err.message : String(err)))
