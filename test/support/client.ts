import { Client, RcpError, type AnyWatchEvent, type ClientOptions, type RequestOptions, type Watch, type WatchEvent, type WatchOp } from 'rstmdb'
import type { ErrorBody } from '../../protocol/errors.js'
import type { Teardown } from './temp-dir.js'

/** The SDK as tests use it. */

/** A client of a server (or of anything with an address: a proxy, a fake server), destroyed at teardown. */
export async function clientFor (t: Teardown, server: { address: string }, options: ClientOptions = {}): Promise<Client> {
  const client = await Client.connect({ servers: [server.address], clientName: 'rstmdb-test', ...options })
  t.teardown(() => client.destroy())
  return client
}

/** The error a request was refused with, as its wire body (details left out when empty); throws when it succeeded. */
export async function rejected (request: Promise<unknown>): Promise<ErrorBody & { details?: any }> {
  let result: unknown
  try {
    result = await request
  } catch (err) {
    if (err instanceof RcpError) return err.toJSON()
    throw err
  }
  throw new Error(`expected an error, got ${JSON.stringify(result)}`)
}

/** A watch read in the background: what it delivered so far, and a way to wait for an event. */
export interface Collected<E extends AnyWatchEvent = WatchEvent> {
  events: E[]
  /** resolves once an event satisfies `predicate` (checks earlier ones too); rejects after `timeoutMs` or when the watch fails or ends */
  until: (predicate: (event: E) => boolean, timeoutMs?: number) => Promise<E>
}

export function collect<E extends AnyWatchEvent = WatchEvent> (watch: Watch<WatchOp, E>): Collected<E> {
  const events: E[] = []
  const waiters = new Set<{ predicate: (e: E) => boolean, resolve: (e: E) => void, reject: (err: Error) => void }>()
  let over: Error | null = null
  void (async () => {
    try {
      for await (const event of watch) {
        events.push(event)
        for (const w of waiters) if (w.predicate(event)) w.resolve(event)
      }
      over = new Error(`the watch ended after ${events.length} events`)
    } catch (err) {
      over = err as Error
    }
    for (const w of waiters) w.reject(over)
  })()
  return {
    events,
    until (predicate, timeoutMs = 20_000) {
      const seen = events.find(predicate)
      if (seen !== undefined) return Promise.resolve(seen)
      if (over !== null) return Promise.reject(over)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${events.length} events`))), timeoutMs)
        const entry = { predicate, resolve: (e: E) => done(() => resolve(e)), reject: (err: Error) => done(() => reject(err)) }
        function done (settle: () => void): void {
          clearTimeout(timer)
          waiters.delete(entry)
          settle()
        }
        waiters.add(entry)
      })
    },
  }
}

/** The client's requests without the op types, for tests that send what the types forbid (bad params, unknown ops). */
export interface LooseClient {
  request: (op: string, params?: unknown, options?: RequestOptions) => Promise<any>
  requestWithMeta: (op: string, params?: unknown, options?: RequestOptions) => Promise<{ result: any, meta: any }>
}

export const loose = (client: Client): LooseClient => client as unknown as LooseClient
