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

/** Reading pauses while this many responses are still owed, so a client that never reads cannot grow memory. */
const MAX_PENDING_RESPONSES = 4096

interface Reply {
  id: string
  /** framing of the request, used before HELLO fixes the outbound mode */
  mode: WireMode
  outcome?: OpOutcome
  error?: RcpError
  traceId?: string
  /** runs right after the response was handed to the socket (subscription start, BYE close) */
  after?: () => void
}

/**
 * One RCP connection: framing, the session rules of rcp.md §3 and response
 * ordering. Every data op goes to the shared dispatcher unchanged.
 */
export function createConnection (socket: net.Socket, opts: ConnectionOptions): Connection {
  const decoder = createMessageDecoder()
  let handshaken = false
  let authenticated = !opts.tokens.required
  let outMode: WireMode | null = null
  let closing = false
  let pending = 0
  /** responses leave in request order: each waits for the previous one */
  let tail: Promise<void> = Promise.resolve()
  let lastInbound = Date.now()
  const drainWaiters: Array<() => void> = []

  const owner: Owner = opts.bus.attach({
    send (text, kind) {
      if (socket.destroyed) return true
      return socket.write(encodeMessage(text, outMode ?? 'binary', kind === 'end'))
    },
    onDrain (callback) { drainWaiters.push(callback) },
  })

  socket.on('drain', () => {
    if (pending < MAX_PENDING_RESPONSES && !closing) socket.resume()
    for (const waiter of drainWaiters.splice(0)) waiter()
  })

  const idleTimer = opts.idleTimeoutMs > 0
    ? setInterval(() => {
      // a connection that holds a subscription is never idle (rcp.md §1, Extension)
      if (owner.size === 0 && pending === 0 && Date.now() - lastInbound >= opts.idleTimeoutMs) {
        opts.logger.debug('idle timeout')
        socket.destroy()
      }
    }, Math.min(opts.idleTimeoutMs, 1000)).unref()
    : null

  function meta (walOffset: number, traceId?: string): JsonObject {
    const m: JsonObject = { server_time: new Date().toISOString(), leader: true, wal_offset: walOffset }
    if (traceId !== undefined) m.trace_id = traceId
    return m
  }

  function frame (reply: Reply): Buffer {
    const mode = outMode ?? reply.mode
    let message: JsonObject
    if (reply.error === undefined && reply.outcome !== undefined) {
      message = { type: 'response', id: reply.id, status: 'ok', result: reply.outcome.result, meta: meta(reply.outcome.walOffset, reply.traceId) }
    } else {
      const error = reply.error ?? new RcpError('INTERNAL_ERROR', 'internal error')
      message = { type: 'response', id: reply.id, status: 'error', error: error.toJSON() as unknown as JsonObject, meta: meta(opts.dispatcher.head(), reply.traceId) }
    }
    try {
      return encodeMessage(message, mode)
    } catch (err) {
      // rcp.md §4.2: a response over 16 MiB is replaced by INTERNAL_ERROR
      return frame({ ...reply, outcome: undefined, error: toRcpError(err) })
    }
  }

  function respond (work: Promise<Reply> | Reply): void {
    pending++
    if (pending >= MAX_PENDING_RESPONSES) socket.pause()
    const ready = Promise.resolve(work)
    tail = tail.then(() => ready).then(reply => {
      pending--
      if (socket.destroyed) return
      const ok = socket.write(frame(reply))
      reply.after?.()
      if (ok && pending < MAX_PENDING_RESPONSES && !closing) socket.resume()
    })
  }

  function handle (mode: WireMode, payload: Buffer): void {
    lastInbound = Date.now()
    const started = process.hrtime.bigint()
    let op = ''
    let reply: Reply = { id: '', mode }
    try {
      const message = parseMessage(payload)
      const envelope = validateEnvelope(message)
      op = envelope.op
      reply = { id: envelope.id, mode, traceId: envelope.trace_id }
      const work = run(envelope.op, envelope.params, mode, reply)
      if (work instanceof Promise) {
        respond(work.then(
          outcome => { observe(op, null, started); return { ...reply, outcome } },
          err => {
            const error = toRcpError(err)
            if (error !== err) opts.logger.error({ err }, 'request failed unexpectedly')
            observe(op, error.code, started)
            return { ...reply, error }
          },
        ))
        return
      }
      observe(op, null, started)
      respond({ ...reply, outcome: work })
    } catch (err) {
      const error = toRcpError(err)
      if (error !== err) opts.logger.error({ err }, 'request failed unexpectedly')
      observe(op, error.code, started)
      if (err instanceof EnvelopeError) reply = { id: err.id, mode, traceId: err.traceId }
      respond({ ...reply, error })
    }
  }

  function observe (op: string, code: string | null, started: bigint): void {
    opts.onRequest?.(op, code, Number(process.hrtime.bigint() - started) / 1e9)
  }

  /** Check order of rcp.md §3.4: envelope → handshake → auth → params → op. */
  function run (op: string, params: JsonObject, mode: WireMode, reply: Reply): OpOutcome | Promise<OpOutcome> {
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
        reply.after = () => {
          owner.close()
          socket.end()
        }
        return { result: { goodbye: true }, walOffset: opts.dispatcher.head() }
      case 'WATCH_INSTANCE':
      case 'WATCH_ALL': {
        const watched = owner.watch(op, params)
        reply.after = watched.start
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

  socket.on('data', (chunk: Buffer) => {
    if (closing) return
    const fatal = decoder.push(chunk, handle)
    if (fatal !== null) {
      opts.logger.debug({ reason: fatal }, 'closing connection: bad framing')
      closing = true
      socket.destroy()
    }
  })
  socket.on('error', err => opts.logger.debug({ err: err.message }, 'socket error'))
  socket.on('close', () => {
    if (idleTimer !== null) clearInterval(idleTimer)
    owner.close()
    opts.onClose()
  })

  return {
    async shutdown (graceMs) {
      closing = true
      socket.pause()
      const deadline = new Promise<void>(resolve => setTimeout(resolve, graceMs).unref())
      await Promise.race([tail.then(() => owner.shutdown()), deadline])
      await Promise.race([new Promise<void>(resolve => {
        if (socket.destroyed) return resolve()
        socket.end(resolve)
      }), deadline])
      socket.destroy()
    },
  }
}
