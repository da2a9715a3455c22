import type { Logger } from 'pino'
import type { Database } from '../src/ops/index.js'
import type { TokenChecker } from '../src/ops/auth.js'
import type { FaceHooks, MetricsText } from '../src/metrics.js'

/** What the routes reach of the database once recovery has finished. */
export type HttpServices = Pick<Database, 'dispatch' | 'attach' | 'head' | 'isLeader' | 'readiness' | 'features'>

export type HttpState = 'recovering' | 'ready' | 'stopping'

/** Everything the HTTP app is built from; plugins get it as their options. */
export interface AppContext {
  logger: Logger
  /** http.body_limit */
  bodyLimit: number
  /** http.cors_origins: empty = no CORS headers */
  corsOrigins: string[]
  tokens: TokenChecker
  /** null until recovery has finished (config.md §3 startup order) */
  services: () => HttpServices | null
  state: () => HttpState
  /** the Prometheus text of /metrics */
  metrics: MetricsText
  /** metrics.require_auth: /metrics needs a bearer token when auth is required */
  metricsRequireAuth: boolean
  /** this face's metrics */
  hooks: FaceHooks
  /** open connections across both faces, for INFO */
  connections: () => number
  /** interval of WebSocket pings; a socket that missed the previous one is closed */
  pingIntervalMs: number
  /** interval of the `: ping` comments on SSE streams (history.md §6: 15 s) */
  ssePingIntervalMs: number
}

export interface RoutePluginOptions {
  ctx: AppContext
}
