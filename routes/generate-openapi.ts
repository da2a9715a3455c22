import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { createMetrics } from '../src/metrics.js'
import { createTokenChecker } from '../src/ops/auth.js'
import { buildApp } from './app.js'
import { openapiText } from './plugins/openapi.js'

/**
 * `npm run openapi`: writes openapi/openapi.json from the route schemas, exactly
 * as the running gateway serves /openapi.json (no server, no data directory).
 */
const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../openapi/openapi.json')
const metrics = createMetrics()
const app = await buildApp({
  logger: pino({ enabled: false }),
  bodyLimit: 1,
  corsOrigins: [],
  tokens: createTokenChecker([], false),
  services: () => null,
  state: () => 'recovering',
  metrics,
  metricsRequireAuth: false,
  hooks: metrics.face('http'),
  connections: () => 0,
  pingIntervalMs: 30_000,
  ssePingIntervalMs: 15_000,
})
await app.ready()
writeFileSync(target, openapiText(app))
await app.close()
process.stdout.write(`wrote ${target}\n`)
