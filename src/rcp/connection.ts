import type net from 'node:net'
import type { Logger } from 'pino'
import { RcpError, toRcpError } from '../../protocol/errors.js'
import type { JsonObject } from '../../protocol/entries.js'
import { createMessageDecoder, encodeMessage, parseMessage, type WireMode } from '../../protocol/codec.js'
import { EnvelopeError, validateEnvelope, validateParams } from '../../protocol/schemas.js'
import type { Bus, Owner } from '../bus/index.js'
import type { Dispatcher, OpOutcome } from '../ops/types.js'
import type { TokenChecker } from '../ops/auth.js'
import { helloResult, OPEN_BEFORE_AUTH } from './session.js'

export interface ConnectionOptions {
  id: number
  dispatcher: Dispatcher
  bus: Bus
  tokens: TokenChecker
  logger: Logger
  idleTimeoutMs: number
  connectionCount: () => number
  onRequest?: (op: string, code: string | null, seconds: number) => void
  onClose: () => void
}

export interface Connection {
  /** rcp.md §3.6: finish in-flight requests, end subscriptions with a notice, close */
  shutdown: (graceMs: number) => Promise<void>
}

/**
 * Backpressure bounds: no new request is decided while this many are still owed
 * a response, or while the socket holds this many unsent bytes. Reading pauses
 * meanwhile, so a client that never reads cannot grow server memory.
 */
const MAX_IN_FLIGHT = 1024
const MAX_UNSENT_BYTES = 1024 * 1024
/**
 * Ops whose results are fresh objects of up to 16 MiB that exist only once the op
 * completes; only this many are in flight per connection, so a pipeline of them
 * cannot pile up gigabytes before the first is written.
 */
const BULKY_OPS: ReadonlySet<string> = new Set(['WAL_READ'])
const MAX_BULKY_IN_FLIGHT = 2

interface Inbound { mode: WireMode, payload: Buffer }

let timeMs = 0
let timeText = ''
/** meta.server_time: RFC 3339 UTC with milliseconds, formatted once per millisecond */
function serverTime (): string {
  const now = Date.now()
  if (now !== timeMs) {
    timeMs = now
    timeText = new Date(now).toISOString()
  }
  return timeText
}

/** One response's place in the connection's output order. */
interface Slot {
  reply: Reply
  decided: boolean
  outcome: OpOutcome | null
  error: RcpError | null
  /** runs right after the response was handed to the socket (subscription start, BYE close) */
  after?: () => void
}

interface Reply {
  id: string
  /** framing of the request, used before HELLO fixes the outbound mode */
  mode: WireMode
  traceId?: string
}

/**
 * One RCP connection: framing, the session rules of rcp.md §3, response order
 * and backpressure. Every data op goes to the shared dispatcher unchanged.
 */
export function createConnection (socket: net.Socket, opts: ConnectionOptions): Connection {
  const decoder = createMessageDecoder()
  let handshaken = false
  let authenticated = !opts.tokens.required
  let outMode: WireMode | null = null
  let closing = false
  /** decoded messages not decided yet (at most one TCP chunk's worth while reading is paused) */
  let inbox: Inbound[] = []
  let inboxHead = 0
  /** responses in request order; the head leaves first */
  const slots: Slot[] = []
  let pumping = false
  /** BULKY_OPS requests decided but not answered yet */
  let bulky = 0
  let flushing = false
  let paused = false
  let lastInbound = Date.now()
  const drainWaiters: Array<() => void> = []
  const idleWaiters: Array<() => void> = []

  const owner: Owner = opts.bus.attach({
    send (text, kind) {
      if (socket.destroyed) return true
      return socket.write(encodeMessage(text, outMode ?? 'binary', kind === 'end'))
    },
    onDrain (callback) { drainWaiters.push(callback) },
  })

  socket.on('drain', () => {
    flushSlots()
    for (const waiter of drainWaiters.splice(0)) waiter()
  })

  const idleTimer = opts.idleTimeoutMs > 0
    ? setInterval(() => {
      // a connection that holds a subscription is never idle (rcp.md §1, Extension)
      if (owner.size === 0 && slots.length === 0 && Date.now() - lastInbound >= opts.idleTimeoutMs) {
        opts.logger.debug('idle timeout')
        socket.destroy()
      }
    }, Math.min(opts.idleTimeoutMs, 1000)).unref()
    : null

  function meta (walOffset: number, traceId?: string): JsonObject {
    const m: JsonObject = { server_time: serverTime(), leader: true, wal_offset: walOffset }
    if (traceId !== undefined) m.trace_id = traceId
    return m
  }

  function encode (reply: Reply, outcome: OpOutcome | null, error: RcpError | null): Buffer {
    const mode = outMode ?? reply.mode
    let message: JsonObject
    if (outcome !== null) {
      message = { type: 'response', id: reply.id, status: 'ok', result: outcome.result, meta: meta(outcome.walOffset, reply.traceId) }
    } else {
      const body = (error ?? new RcpError('INTERNAL_ERROR', 'internal error')).toJSON() as unknown as JsonObject
      message = { type: 'response', id: reply.id, status: 'error', error: body, meta: meta(opts.dispatcher.head(), reply.traceId) }
    }
    try {
      return encodeMessage(message, mode)
    } catch (err) {
      // rcp.md §4.2: a response over 16 MiB is replaced by INTERNAL_ERROR
      return encode(reply, null, toRcpError(err))
    }
  }

  function settle (slot: Slot, op: string, started: bigint, outcome: OpOutcome | null, err: unknown): void {
    if (outcome === null) {
      slot.error = toRcpError(err)
      if (slot.error !== err) opts.logger.error({ err }, 'request failed unexpectedly')
    }
    if (BULKY_OPS.has(op)) bulky--
    opts.onRequest?.(op, slot.error?.code ?? null, Number(process.hrtime.bigint() - started) / 1e9)
    slot.outcome = outcome
    slot.decided = true
    flushSlots()
  }

  const roomToWrite = (): boolean => socket.writableLength < MAX_UNSENT_BYTES

  /**
   * Responses settled in the same tick (a group commit wakes many) leave in one
   * write instead of one syscall each.
   */
  let corked = false
  function uncorkLater (): void {
    if (corked) return
    corked = true
    socket.cork()
    process.nextTick(() => {
      corked = false
      socket.uncork()
    })
  }

  /**
   * Writes every decided response at the head of the order (rcp.md §3.3). A response
   * is serialized only when the socket has room, so unsent output stays bounded.
   */
  function flushSlots (): void {
    if (flushing) return
    flushing = true
    while (slots.length > 0 && slots[0].decided && (roomToWrite() || socket.destroyed)) {
      const slot = slots.shift() as Slot
      if (!socket.destroyed) {
        uncorkLater()
        socket.write(encode(slot.reply, slot.outcome, slot.error))
      }
      slot.after?.()
    }
    flushing = false
    if (slots.length === 0) for (const waiter of idleWaiters.splice(0)) waiter()
    pump()
  }

  /** Decides queued requests while the backpressure bounds allow, and pauses reading when they do not. */
  function pump (): void {
    if (pumping) return
    pumping = true
    while (!closing && inboxHead < inbox.length && slots.length < MAX_IN_FLIGHT && roomToWrite() && bulky < MAX_BULKY_IN_FLIGHT) {
      const next = inbox[inboxHead]
      inbox[inboxHead++] = undefined as unknown as Inbound
      handle(next.mode, next.payload)
    }
    if (inboxHead === inbox.length) {
      inbox = []
      inboxHead = 0
    }
    pumping = false
    const blocked = inboxHead < inbox.length || slots.length >= MAX_IN_FLIGHT || !roomToWrite()
    if (blocked && !paused) {
      paused = true
      socket.pause()
    } else if (!blocked && paused && !closing) {
      paused = false
      socket.resume()
    }
  }

  function handle (mode: WireMode, payload: Buffer): void {
    const started = process.hrtime.bigint()
    const slot: Slot = { reply: { id: '', mode }, decided: false, outcome: null, error: null }
    slots.push(slot)
    let op = ''
    let work: OpOutcome | Promise<OpOutcome>
    try {
      const envelope = validateEnvelope(parseMessage(payload))
      op = envelope.op
      slot.reply = { id: envelope.id, mode, traceId: envelope.trace_id }
      if (BULKY_OPS.has(op)) bulky++
      work = run(envelope.op, envelope.params, mode, slot)
    } catch (err) {
      if (err instanceof EnvelopeError) slot.reply = { id: err.id, mode, traceId: err.traceId }
      settle(slot, op, started, null, err)
      return
    }
    if (work instanceof Promise) {
      work.then(
        outcome => settle(slot, op, started, outcome, null),
        err => settle(slot, op, started, null, err),
      )
    } else {
      settle(slot, op, started, work, null)
    }
  }

  /** Check order of rcp.md §3.4: envelope → handshake → auth → params → op. */
  function run (op: string, params: JsonObject, mode: WireMode, slot: Slot): OpOutcome | Promise<OpOutcome> {
    if (op === 'HELLO') return hello(params, mode)
    if (!handshaken) throw new RcpError('BAD_REQUEST', 'handshake required: send HELLO first', { reason: 'handshake_required' })
    if (!authenticated && !OPEN_BEFORE_AUTH.has(op)) throw new RcpError('UNAUTHORIZED', 'authentication required')
    switch (op) {
      case 'AUTH': {
        const p = validateParams('AUTH', params)
        opts.tokens.verify(p.method, p.token)
        authenticated = true
        return { result: { authenticated: true }, walOffset: opts.dispatcher.head() }
      }
      case 'BYE':
        validateParams('BYE', params)
        closing = true
        slot.after = () => {
          owner.close()
          socket.end()
        }
        return { result: { goodbye: true }, walOffset: opts.dispatcher.head() }
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
        return opts.dispatcher.dispatch(op, params, { connections: opts.connectionCount() })
    }
  }

  function hello (params: JsonObject, mode: WireMode): OpOutcome {
    if (handshaken) throw new RcpError('BAD_REQUEST', 'HELLO already completed', { reason: 'already_handshaken' })
    const p = validateParams('HELLO', params)
    const { result, mode: chosen } = helloResult(p, mode)
    handshaken = true
    outMode = chosen
    return { result, walOffset: opts.dispatcher.head() }
  }

  function receive (mode: WireMode, payload: Buffer): void {
    lastInbound = Date.now()
    inbox.push({ mode, payload })
  }

  socket.on('data', (chunk: Buffer) => {
    if (closing) return
    const fatal = decoder.push(chunk, receive)
    if (fatal !== null) {
      opts.logger.debug({ reason: fatal }, 'closing connection: bad framing')
      closing = true
      socket.destroy()
      return
    }
    pump()
  })
  socket.on('error', err => opts.logger.debug({ err: err.message }, 'socket error'))
  socket.on('close', () => {
    if (idleTimer !== null) clearInterval(idleTimer)
    owner.close()
    for (const waiter of idleWaiters.splice(0)) waiter()
    opts.onClose()
  })

  /** resolves once every decided request has had its response written */
  function settled (): Promise<void> {
    if (slots.length === 0 || socket.destroyed) return Promise.resolve()
    return new Promise(resolve => idleWaiters.push(resolve))
  }

  return {
    async shutdown (graceMs) {
      closing = true
      paused = true
      socket.pause()
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<void>(resolve => { timer = setTimeout(resolve, graceMs) })
      await Promise.race([settled().then(() => owner.shutdown()), deadline])
      await Promise.race([new Promise<void>(resolve => {
        if (socket.destroyed) return resolve()
        socket.end(resolve)
      }), deadline])
      clearTimeout(timer)
      socket.destroy()
    },
  }
}
