import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyServerOptions } from 'fastify'
import type { Logger } from 'pino'
import type { TokenChecker } from '../src/ops/auth.js'
import type { MetricsText } from '../src/metrics.js'
import { authPlugin } from './plugins/auth.js'
import { problemPlugin } from './problem.js'
import { liveness } from './health.js'
import { metricsRoutes } from './metrics.js'

export interface MetricsListenerOptions {
  host: string
  port: number
  metrics: MetricsText
  tokens: TokenChecker
  /** metrics.require_auth: a bearer token when auth is required */
  requireAuth: boolean
  logger: Logger
}

export interface MetricsListener {
  readonly address: AddressInfo
  close: () => Promise<void>
}

/**
 * The dedicated listener of `metrics.enabled` (config.md `metrics`): GET /metrics,
 * /health and /healthz, with the gateway's own metrics route, auth and problems.
 */
export async function startMetricsListener (opts: MetricsListenerOptions): Promise<MetricsListener> {
  const options: FastifyServerOptions = { loggerInstance: opts.logger.child({ face: 'metrics' }), disableRequestLogging: true }
  const app = Fastify(options)
  await app.register(problemPlugin)
  await app.register(authPlugin, { tokens: opts.tokens })
  await app.register(metricsRoutes, { metrics: opts.metrics, requireAuth: opts.requireAuth })
  app.get('/health', liveness('health'))
  app.get('/healthz', liveness('healthz'))
  await app.listen({ host: opts.host, port: opts.port })
  return {
    address: app.server.address() as AddressInfo,
    close: async () => {
      app.server.closeAllConnections()
      await app.close()
    },
  }
}
