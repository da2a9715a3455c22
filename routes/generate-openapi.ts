import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { buildGateway, openapiText } from '../src/gateway.js'
import { createMetrics } from '../src/metrics.js'
import { createTokenChecker } from '../src/ops/auth.js'

/**
 * `npm run openapi`: writes openapi/openapi.json from the route schemas, exactly
 * as the running gateway serves /openapi.json (no server, no data directory).
 */
const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../openapi/openapi.json')
const tokens = createTokenChecker([], false)
const app = await buildGateway({ bodyLimit: 1, corsOrigins: [], logger: pino({ enabled: false }) }, {
  services: () => null,
  state: () => 'recovering',
  tokens,
  metrics: createMetrics(),
  metricsRequireAuth: false,
  connectionCount: () => 0,
  pingIntervalMs: 30_000,
})
await app.ready()
writeFileSync(target, openapiText(app))
await app.close()
process.stdout.write(`wrote ${target}\n`)
