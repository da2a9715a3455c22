import { parseMessage, type WireMode } from '../../protocol/codec.js'
import type { JsonObject } from '../../protocol/entries.js'
import { RcpError, toRcpError } from '../../protocol/errors.js'
import { EnvelopeError, validateEnvelope, validateParams, type OpName, type ValidRequest } from '../../protocol/schemas.js'
import type { Owner, Sink } from '../bus/index.js'
import type { TokenChecker } from '../ops/auth.js'
import type { Dispatch, OpOutcome } from '../ops/types.js'
import { errorText, okText } from './envelope.js'
import { helloResult, OPEN_BEFORE_AUTH } from './hello.js'

export { helloResult } from './hello.js'

/**
 * The session core both transports share (architecture.md): the request check
 * order of rcp.md §3.4, op routing (data ops to the dispatcher; HELLO, AUTH, PING,
 * WATCH_*, UNWATCH and BYE here), responses in request order with their `meta`,
 * the subscription sink, backpressure, request timing and the shutdown grace.
 * A transport only frames bytes: RCP over TCP/TLS, or the gateway's WebSocket.
 */

/** What a session needs from the database. */
export interface SessionServices {
  dispatch: Dispatch
  attach: (sink: Sink) => Owner
  /** meta.wal_offset of responses that report no offset of their own */
  head: () => number
  /** meta.leader */
  isLeader: () => boolean
  /** the features HELLO may answer with, in server order */
  features: readonly string[]
}

export type OutboundKind = 'response' | 'event' | 'end'

export interface Transport {
  /**
   * Hands one message (JSON text) to the wire, framed in `mode`; false once the
   * transport is above its high-water mark. Throws RcpError INTERNAL_ERROR for a
   * message over the size limit.
   */
  send: (text: string, kind: OutboundKind, mode: WireMode) => boolean
  /** false while so much output waits that no new request should be decided */
  hasRoom: () => boolean
  pause: () => void
  resume: () => void
  /** closes once queued output is out (RCP: FIN; WebSocket: close 1001) */
  end: () => Promise<void>
  destroy: () => void
  readonly closed: boolean
}

export interface SessionOptions {
  services: SessionServices
  transport: Transport
  tokens: TokenChecker
  /** RCP: HELLO first, then AUTH when required. Without it the session starts authenticated (checked before the upgrade). */
  handshake: boolean
  /** whether this face serves an op at all; others are refused with BAD_REQUEST */
  serves: (op: OpName) => boolean
  /** the refusal message for an op the face does not serve */
  refusal: (op: OpName) => string
  /** a request id the transport keeps for requests it makes itself */
  reservedId?: string
  /** open connections across both faces, for INFO */
  connections: () => number
  /** metrics: one request of `op` ("INVALID" when unparseable); code null on success */
  onRequest: (op: string, code: string | null, seconds: number) => void
  /** where unexpected failures are reported */
  logger: { error: (fields: object, message: string) => void }
}

export interface Session {
  /** one message as the transport de-framed it */
  receive: (mode: WireMode, payload: Buffer) => void
  /** a message the transport refuses itself (e.g. a binary WebSocket frame), answered in order */
  refuse: (error: RcpError) => void
  /**
   * A request the transport makes on the client's behalf, answered with `id` (the WebSocket's
   * query string); `failed` runs once its error response has been handed to the transport.
   */
  request: (id: string, op: OpName, params: JsonObject, failed?: (error: RcpError) => void) => void
  /** the transport can take more output */
  drained: () => void
  /** the transport closed: subscriptions end without notice */
  closed: () => void
  /** true while a response is owed or a subscription is active (never idle then) */
  busy: () => boolean
  /** rcp.md §3.6: finish in-flight requests, end subscriptions with the notice, close */
  shutdown: (graceMs: number) => Promise<void>
}

/**
 * Backpressure bounds: no new request is decided while this many are still owed
 * a response. Reading pauses meanwhile, so a client that never reads cannot grow
 * server memory.
 */
const MAX_IN_FLIGHT = 1024
/**
 * Ops whose results are fresh objects of up to 16 MiB that exist only once the op
 * completes; only this many are in flight per session, so a pipeline of them
 * cannot pile up gigabytes before the first is written.
 */
const BULKY_OPS: ReadonlySet<string> = new Set(['WAL_READ'])
const MAX_BULKY_IN_FLIGHT = 2
const INVALID_OP = 'INVALID'

type Inbound =
  | { mode: WireMode, payload: Buffer }
  | { mode: WireMode, error: RcpError }
  | { mode: WireMode, request: ValidRequest, failed?: (error: RcpError) => void }

/** One response's place in the session's output order. */
interface Slot {
  id: string
  /** framing of the request, used before HELLO fixes the outbound mode */
  mode: WireMode
  traceId?: string
  decided: boolean
  outcome: OpOutcome | null
  error: RcpError | null
  /** runs right after the response was handed to the transport (subscription start, BYE close) */
  after?: () => void
  /** runs instead when the response was an error */
  failed?: (error: RcpError) => void
}

export function createSession (opts: SessionOptions): Session {
  const { services, transport } = opts
  let handshaken = !opts.handshake
  let authenticated = !opts.handshake || !opts.tokens.required
  let outMode: WireMode | null = null
  let closing = false
  let inbox: Inbound[] = []
  let inboxHead = 0
  const slots: Slot[] = []
  let pumping = false
  let flushing = false
  let paused = false
  let bulky = 0
  const drainWaiters: Array<() => void> = []
  const idleWaiters: Array<() => void> = []

  const owner: Owner = services.attach({
    send (text, kind) {
      if (transport.closed) return true
      return transport.send(text, kind, outMode ?? 'binary')
    },
    onDrain (callback) { drainWaiters.push(callback) },
  })

  const meta = (walOffset: number, traceId?: string): { walOffset: number, leader: boolean, traceId?: string } =>
    ({ walOffset, leader: services.isLeader(), traceId })

  function write (slot: Slot): void {
    const mode = outMode ?? slot.mode
    const text = slot.outcome !== null
      ? okText(slot.id, slot.outcome.result, meta(slot.outcome.walOffset, slot.traceId))
      : errorText(slot.id, slot.error ?? new RcpError('INTERNAL_ERROR', 'internal error'), meta(services.head(), slot.traceId))
    try {
      transport.send(text, 'response', mode)
    } catch (err) {
      transport.send(errorText(slot.id, toRcpError(err), meta(services.head(), slot.traceId)), 'response', mode)
    }
  }

  /**
   * Writes every decided response at the head of the order (rcp.md §3.3). A response
   * is serialized only when the transport has room, so unsent output stays bounded.
   */
  function flushSlots (): void {
    if (flushing) return
    flushing = true
    while (slots.length > 0 && slots[0].decided && (transport.hasRoom() || transport.closed)) {
      const slot = slots.shift() as Slot
      if (!transport.closed) write(slot)
      if (slot.error === null) slot.after?.()
      else slot.failed?.(slot.error)
    }
    flushing = false
    if (slots.length === 0) for (const waiter of idleWaiters.splice(0)) waiter()
    pump()
  }

  /** Decides queued requests while the backpressure bounds allow, and pauses reading when they do not. */
  function pump (): void {
    if (pumping) return
    pumping = true
    // eslint-disable-next-line no-unmodified-loop-condition -- handle() can close the session, which sets closing
    while (!closing && inboxHead < inbox.length && slots.length < MAX_IN_FLIGHT && transport.hasRoom() && bulky < MAX_BULKY_IN_FLIGHT) {
      const next = inbox[inboxHead]
      inbox[inboxHead++] = undefined as unknown as Inbound
      handle(next)
    }
    if (inboxHead === inbox.length) {
      inbox = []
      inboxHead = 0
    }
    pumping = false
    const blocked = inboxHead < inbox.length || slots.length >= MAX_IN_FLIGHT || !transport.hasRoom()
    if (blocked && !paused) {
      paused = true
      transport.pause()
    } else if (!blocked && paused && !closing) {
      paused = false
      transport.resume()
    }
  }

  function settle (slot: Slot, op: string, started: bigint, outcome: OpOutcome | null, err: unknown): void {
    if (outcome === null) {
      slot.error = toRcpError(err)
      if (slot.error !== err) opts.logger.error({ err }, 'request failed unexpectedly')
    }
    if (BULKY_OPS.has(op)) bulky--
    opts.onRequest(op, slot.error?.code ?? null, Number(process.hrtime.bigint() - started) / 1e9)
    slot.outcome = outcome
    slot.decided = true
    flushSlots()
  }

  function envelopeOf (item: Inbound): ValidRequest {
    if ('request' in item) return item.request
    if ('error' in item) throw item.error
    const envelope = validateEnvelope(parseMessage(item.payload))
    if (envelope.id === opts.reservedId) {
      throw new EnvelopeError('', `request id "${envelope.id}" is reserved`, { field: 'id' }, envelope.trace_id)
    }
    return envelope
  }

  function handle (item: Inbound): void {
    const started = process.hrtime.bigint()
    const slot: Slot = { id: '', mode: item.mode, decided: false, outcome: null, error: null, failed: 'request' in item ? item.failed : undefined }
    slots.push(slot)
    let op = INVALID_OP
    let work: OpOutcome | Promise<OpOutcome>
    try {
      const envelope = envelopeOf(item)
      op = envelope.op
      slot.id = envelope.id
      slot.traceId = envelope.trace_id
      if (BULKY_OPS.has(op)) bulky++
      work = run(envelope.op, envelope.params, item.mode, slot)
    } catch (err) {
      if (err instanceof EnvelopeError) {
        slot.id = err.id
        slot.traceId = err.traceId
      }
      settle(slot, op, started, null, err)
      return
    }
    if (work instanceof Promise) {
      work.then(
        outcome => settle(slot, op, started, outcome, null),
        err => settle(slot, op, started, null, err)
      )
    } else {
      settle(slot, op, started, work, null)
    }
  }

  /** Check order of rcp.md §3.4: envelope → handshake → auth → params → op. */
  function run (op: OpName, params: JsonObject, mode: WireMode, slot: Slot): OpOutcome | Promise<OpOutcome> {
    if (!opts.serves(op)) throw new RcpError('BAD_REQUEST', opts.refusal(op), { op })
    if (op === 'HELLO') return hello(params, mode)
    if (!handshaken) throw new RcpError('BAD_REQUEST', 'handshake required: send HELLO first', { reason: 'handshake_required' })
    if (!authenticated && !OPEN_BEFORE_AUTH.has(op)) throw new RcpError('UNAUTHORIZED', 'authentication required')
    switch (op) {
      case 'AUTH': {
        const p = validateParams('AUTH', params)
        opts.tokens.verify(p.method, p.token)
        authenticated = true
        return { result: { authenticated: true }, walOffset: services.head() }
      }
      case 'PING':
        validateParams('PING', params)
        return { result: { pong: true }, walOffset: services.head() }
      case 'BYE':
        validateParams('BYE', params)
        closing = true
        slot.after = () => {
          owner.close()
          transport.end().catch(() => {})
        }
        return { result: { goodbye: true }, walOffset: services.head() }
      case 'WATCH_INSTANCE':
      case 'WATCH_ALL': {
        const watched = owner.watch(op, params)
        // events go out from the next turn, in a write of their own: some official SDKs register the
        // subscription only after handling the response and drop events that share its TCP chunk
        slot.after = () => { setImmediate(watched.start) }
        return { result: watched.result, walOffset: watched.walOffset }
      }
      case 'UNWATCH':
        return owner.unwatch(params)
      default:
        return services.dispatch(op, params, { connections: opts.connections() })
    }
  }

  function hello (params: JsonObject, mode: WireMode): OpOutcome {
    if (handshaken) throw new RcpError('BAD_REQUEST', 'HELLO already completed', { reason: 'already_handshaken' })
    const p = validateParams('HELLO', params)
    const { result, mode: chosen } = helloResult(p, mode, services.features)
    handshaken = true
    outMode = chosen
    return { result, walOffset: services.head() }
  }

  function enqueue (item: Inbound): void {
    inbox.push(item)
    pump()
  }

  /** resolves once every decided request has had its response written */
  function settled (): Promise<void> {
    if (slots.length === 0 || transport.closed) return Promise.resolve()
    return new Promise(resolve => idleWaiters.push(resolve))
  }

  return {
    receive (mode, payload) {
      if (!closing) enqueue({ mode, payload })
    },
    refuse (error) {
      if (!closing) enqueue({ mode: 'jsonl', error })
    },
    request (id, op, params, failed) {
      enqueue({ mode: 'jsonl', request: { id, op, params }, failed })
    },
    drained () {
      flushSlots()
      for (const waiter of drainWaiters.splice(0)) waiter()
    },
    closed () {
      owner.close()
      for (const waiter of idleWaiters.splice(0)) waiter()
    },
    busy: () => owner.size > 0 || slots.length > 0,
    async shutdown (graceMs) {
      closing = true
      paused = true
      transport.pause()
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<void>(resolve => { timer = setTimeout(resolve, graceMs) })
      await Promise.race([settled().then(() => owner.shutdown()), deadline])
      await Promise.race([transport.end(), deadline])
      clearTimeout(timer)
      transport.destroy()
    },
  }
}
