import { Client, RcpError, type ClientOptions, type RequestOptions, type Watch, type WatchEvent, type WatchOp } from 'rstmdb'
import type { ErrorBody } from '../../protocol/errors.js'
import type { RunningServer } from './server.js'
import type { Teardown } from './temp-dir.js'

/** The SDK, as tests use it: connected to a real server, destroyed at teardown. */

export async function clientFor (t: Teardown, server: RunningServer, options: ClientOptions = {}): Promise<Client> {
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

/**
 * Takes the watch's events until one satisfies `last` (included), and returns them; rejects
 * (closing the watch) when that takes longer than `timeoutMs`.
 */
export async function eventsUntil (watch: Watch<WatchOp>, last: (event: WatchEvent) => boolean, timeoutMs = 20_000): Promise<WatchEvent[]> {
  const taken: WatchEvent[] = []
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      void watch.close()
      reject(new Error(`timed out after ${taken.length} events`))
    }, timeoutMs)
  })
  try {
    for (;;) {
      const next = await Promise.race([watch.next(), timedOut])
      if (next.done === true) throw new Error(`the watch ended after ${taken.length} events`)
      taken.push(next.value)
      if (last(next.value)) return taken
    }
  } finally {
    clearTimeout(timer)
  }
}

/** The client's requests without the op types, for tests that send what the types forbid (bad params, unknown ops). */
export interface LooseClient {
  request: (op: string, params?: unknown, options?: RequestOptions) => Promise<any>
  requestWithMeta: (op: string, params?: unknown, options?: RequestOptions) => Promise<{ result: any, meta: any }>
}

export const loose = (client: Client): LooseClient => client as unknown as LooseClient
