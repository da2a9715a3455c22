import type { Bus } from '../src/bus/index.js'
import type { Dispatcher } from '../src/ops/types.js'
import type { TokenChecker } from '../src/ops/auth.js'
import type { Metrics } from '../src/metrics.js'

/** What the routes reach once recovery has finished. */
export interface GatewayServices {
  dispatcher: Dispatcher
  bus: Bus
  /** false once the WAL has failed: /readyz answers 503 */
  isWritable: () => boolean
  /** last appended offset: a write whose record lands above it created something new */
  appendedHead: () => number
}

export type GatewayState = 'recovering' | 'ready' | 'stopping'

/** Shared by every route plugin of one gateway (passed as plugin options). */
export interface GatewayContext {
  /** null until recovery has finished (config.md §3 startup order) */
  services: () => GatewayServices | null
  state: () => GatewayState
  tokens: TokenChecker
  metrics: Metrics
  /** /metrics needs a bearer token when auth is required */
  metricsRequireAuth: boolean
  /** open connections across both faces, for INFO */
  connectionCount: () => number
  /** interval of WebSocket pings; a socket that missed the previous one is closed */
  pingIntervalMs: number
}

export interface RoutePluginOptions {
  ctx: GatewayContext
}
