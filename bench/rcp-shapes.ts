import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { RunningServer } from './server.js'

/**
 * The RCP load shapes `npm run bench` measures, each against a `never` and an `every_write`
 * server: one request in flight per connection first (how SDK and CLI users call), then
 * pipelined. compare-builds.js runs the same shapes against two builds.
 */
export const RCP_POLICIES = ['never', 'every_write'] as const
export type RcpPolicy = typeof RCP_POLICIES[number]

export interface RcpShape { connections: number, depth: number, instances: number, events: number }

/** Instance and event counts sized for a second or two per phase on 2 shared cores, times `scale`. */
export function rcpShapes (scale: number): RcpShape[] {
  const sized = (n: number): number => Math.max(1, Math.round(n * scale))
  return [
    { connections: 1, depth: 1, instances: sized(2_000), events: 3 },
    { connections: 16, depth: 1, instances: sized(4_000), events: 5 },
    { connections: 64, depth: 1, instances: sized(6_400), events: 5 },
    { connections: 32, depth: 16, instances: sized(5_000), events: 10 },
  ]
}

const RCP_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rcp.js')

/**
 * node arguments running rcp.js with one shape against a server on this machine (its pid, for
 * the CPU figure); one client thread: on 2 cores a second one only takes CPU from the server.
 */
export function rcpArgs (server: RunningServer, policy: RcpPolicy, shape: RcpShape): string[] {
  return [RCP_JS, '--address', server.address, '--pid', String(server.child.pid), '--fsync', policy,
    '--connections', String(shape.connections), '--depth', String(shape.depth), '--instances', String(shape.instances),
    '--events', String(shape.events), '--workers', '1']
}
