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
  /** true when the stream is known to hold messages not delivered yet */
  behind: () => boolean
  logger: Logger
}

export interface Applier {
  /** stops delivery; no message is handed over once it returns */
  stop: () => Promise<void>
}

const PULL_BATCH = 1000
// a pull expires (and heartbeats are checked) this often
const PULL_EXPIRES_MS = 2_000
/**
 * Nothing delivered for this long while the stream holds more: the consumer is recreated.
 * The client's own recovery waits forever for a consumer whose server was lost (its info
 * request times out rather than saying "not found"), so this bounds how long that stalls.
 */
const STALL_MS = 3 * PULL_EXPIRES_MS
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

  let delivered = performance.now()
  const deliver = (m: JsMsg): void => {
    if (stopped) return
    delivered = performance.now()
    next = m.seq + 1
    opts.onMessage(m.seq, decodeRecord(m.seq, m.data, m.headers), m.info.pending)
  }

  async function run (): Promise<void> {
    // eslint-disable-next-line no-unmodified-loop-condition -- stop() sets it while the loop awaits
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
  const watchdog = setInterval(() => {
    if (stopped || messages === null || performance.now() - delivered < STALL_MS || !opts.behind()) return
    opts.logger.warn({ next }, 'stream consumer stalled while the stream holds more; recreating it')
    delivered = performance.now()
    messages.stop()
  }, STALL_MS / 3)

  return {
    async stop () {
      stopped = true
      clearInterval(watchdog)
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
