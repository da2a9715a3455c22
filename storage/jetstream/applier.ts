import { setTimeout as sleep } from 'node:timers/promises'
import { DeliverPolicy } from '@nats-io/jetstream'
import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream'
import type { Logger } from '../logger.js'
import { decodeRecord } from './records.js'
import type { StreamRecord } from './records.js'

export interface ApplierOptions {
  js: JetStreamClient
  stream: string
  /** first sequence to deliver */
  from: number
  /**
   * Each message in stream order, synchronously (so delivery is paced by applying):
   * its record (null when it is not an entry), and how many messages the stream holds after it.
   */
  onMessage: (sequence: number, record: StreamRecord | null, pending: number) => void
  logger: Logger
}

export interface Applier {
  /** stops delivery; no message is handed over once it returns */
  stop: () => Promise<void>
}

const PULL_BATCH = 1000
// a pull expires (and heartbeats are checked) this often: bounds how long a lost server stalls delivery
const PULL_EXPIRES_MS = 5_000
const RETRY_MS = 250

/**
 * A follower's feed (cluster.md §1): an ordered consumer from a start sequence. The
 * client recreates its server-side consumer after a reconnect or a lost message, from
 * the last sequence it delivered, so delivery is gapless and in order; when the
 * consumer cannot be created (stream leader unavailable) it retries until stopped.
 */
export function startApplier (opts: ApplierOptions): Applier {
  let stopped = false
  let next = opts.from
  let messages: ConsumerMessages | null = null
  let consumer: Consumer | null = null
  let wake: (() => void) | null = null

  const deliver = (m: JsMsg): void => {
    if (stopped) return
    next = m.seq + 1
    opts.onMessage(m.seq, decodeRecord(m.seq, m.data, m.headers), m.info.pending)
  }

  async function run (): Promise<void> {
    while (!stopped) {
      try {
        consumer = await opts.js.consumers.get(opts.stream, { opt_start_seq: next, deliver_policy: DeliverPolicy.StartSequence })
        if (!stopped) messages = await consumer.consume({ max_messages: PULL_BATCH, expires: PULL_EXPIRES_MS, callback: deliver })
        const err = messages === null ? null : await messages.closed()
        if (!stopped) opts.logger.warn({ err, next }, 'stream consumer ended; recreating it')
      } catch (err) {
        if (!stopped) opts.logger.warn({ err: (err as Error).message, next }, 'cannot create the stream consumer; retrying')
      }
      messages = null
      // the server would keep an abandoned consumer until its inactivity threshold
      consumer?.delete().catch(() => {})
      consumer = null
      if (!stopped) await new Promise<void>((resolve) => { wake = resolve; void sleep(RETRY_MS).then(resolve) })
      wake = null
    }
  }
  const running = run()

  return {
    async stop () {
      stopped = true
      wake?.()
      const m = messages
      if (m !== null) {
        m.stop()
        await m.closed().catch(() => {})
      }
      await running
    },
  }
}
