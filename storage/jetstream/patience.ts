import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../logger.js'

/**
 * How long a starting node waits for JetStream to answer. Servers that have just started,
 * or a stream whose replicas are electing their leader, answer API requests with timeouts
 * and "temporarily unavailable" for a few seconds; a node starting meanwhile waits rather
 * than exit.
 */
export const STARTUP_PATIENCE_MS = 30_000
const PAUSE_MS = 250

/** JetStream could not be used within the startup patience (cluster.md §5): the node must not start. */
export class JetStreamUnavailableError extends Error {
  constructor (what: string, patienceMs: number, cause: unknown) {
    super(`JetStream did not answer while ${what} within ${patienceMs} ms (${(cause as Error)?.message ?? String(cause)}); ` +
      'check that every NATS server runs JetStream, that they see each other, and that cluster.replicas is at most their number')
    this.name = 'JetStreamUnavailableError'
  }
}

/** Failures that pass once JetStream has settled: timeouts, no responders yet, 5xx API answers. */
export function isTransient (err: unknown): boolean {
  const e = err as { name?: string, status?: number }
  if (e?.name === 'TimeoutError' || e?.name === 'NoRespondersError' || e?.name === 'JetStreamNotEnabled' || e?.name === 'RequestError') return true
  return e?.name === 'JetStreamApiError' && typeof e.status === 'number' && e.status >= 500
}

/** Runs `step` until it succeeds, retrying transient failures for `patienceMs`; other failures are thrown at once. */
export async function patiently<T> (what: string, step: () => Promise<T>, logger: Logger, patienceMs = STARTUP_PATIENCE_MS): Promise<T> {
  const deadline = performance.now() + patienceMs
  for (;;) {
    try {
      return await step()
    } catch (err) {
      if (!isTransient(err)) throw err
      if (performance.now() + PAUSE_MS >= deadline) throw new JetStreamUnavailableError(what, patienceMs, err)
      logger.warn({ err: (err as Error).message, step: what }, 'JetStream is not answering yet; waiting')
      await sleep(PAUSE_MS)
    }
  }
}
