#!/usr/bin/env node
import { ConfigError, describeConfig, formatAddress, loadConfig, readTlsMaterial, type Config } from './config.js'
import { createLogger, type Logger } from './logger.js'
import { openDatabase, type Database } from './ops/index.js'
import { createTokenChecker } from './ops/auth.js'
import { createBus, type Bus } from './bus/index.js'
import { startRcpServer, type RcpServer } from './rcp/server.js'

/**
 * The process entry: configuration, then recovery, then the listeners, in the
 * order of config.md §3; a signal runs the shutdown order in reverse.
 */
async function start (config: Config, logger: Logger): Promise<() => Promise<void>> {
  const db: Database = await openDatabase({ storage: config.storage, compaction: config.compaction, logger })
  const bus: Bus = createBus({
    log: db.storage,
    getInstance: id => db.engine.getInstance(id),
    queueLimit: config.subscriptions.queue_limit,
  })
  const tokens = createTokenChecker(config.auth.token_hashes, config.auth.required)
  let rcp: RcpServer
  try {
    rcp = await startRcpServer({
      host: config.network.bind_addr.host,
      port: config.network.bind_addr.port,
      maxConnections: config.network.max_connections,
      idleTimeoutSecs: config.network.idle_timeout_secs,
      tls: config.tls.enabled
        ? { ...readTlsMaterial(config.tls), requireClientCert: config.tls.require_client_cert }
        : undefined,
      dispatcher: db.dispatcher,
      bus,
      tokens,
      logger,
      connectionCount: () => rcp.connections,
    })
  } catch (err) {
    await db.close()
    throw err
  }
  logger.info({ rcp: formatAddress({ host: rcp.address.address, port: rcp.address.port }), tls: config.tls.enabled }, 'ready')

  return async () => {
    await rcp.close()
    await db.close()
  }
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

  let stop: () => Promise<void>
  try {
    stop = await start(config, logger)
  } catch (err) {
    logger.error({ err }, 'startup failed')
    fatal(err instanceof Error ? err.message : String(err))
  }

  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    stop().then(() => {
      logger.info('stopped')
      process.exit(0)
    }, err => {
      logger.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
}

main().catch(err => fatal(err instanceof Error ? err.message : String(err)))
