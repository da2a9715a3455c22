import type net from 'node:net'
import type { Logger } from 'pino'
import { createMessageDecoder, encodeMessage } from '../../protocol/codec.js'
import { createSession, type SessionServices } from '../session/index.js'
import type { TokenChecker } from '../ops/auth.js'

export interface ConnectionOptions {
  services: SessionServices
  tokens: TokenChecker
  logger: Logger
  idleTimeoutMs: number
  connections: () => number
  onRequest: (op: string, code: string | null, seconds: number) => void
  onClose: () => void
}

export interface Connection {
  /** rcp.md §3.6: finish in-flight requests, end subscriptions with a notice, close */
  shutdown: (graceMs: number) => Promise<void>
}

/** Unsent bytes above which no new request is decided (the session pauses reading). */
const MAX_UNSENT_BYTES = 1024 * 1024

/**
 * One RCP connection: the TCP/TLS transport of a session. It de-frames inbound
 * bytes (rcp.md §2), frames outbound messages in the session's wire mode, and
 * closes idle connections (§1); everything else is the session core's.
 */
export function createConnection (socket: net.Socket, opts: ConnectionOptions): Connection {
  const decoder = createMessageDecoder()
  let lastInbound = Date.now()
  let corked = false

  /**
   * Responses settled in the same tick (a group commit wakes many) leave in one
   * write instead of one syscall each.
   */
  function uncorkLater (): void {
    if (corked) return
    corked = true
    socket.cork()
    process.nextTick(() => {
      corked = false
      socket.uncork()
    })
  }

  const session = createSession({
    services: opts.services,
    tokens: opts.tokens,
    handshake: true,
    serves: () => true,
    refusal: op => `${op} is not served here`,
    connections: opts.connections,
    onRequest: opts.onRequest,
    logger: opts.logger,
    transport: {
      send (text, kind, mode) {
        const bytes = encodeMessage(text, mode, kind === 'end')
        if (kind === 'response') uncorkLater()
        return socket.write(bytes)
      },
      hasRoom: () => socket.writableLength < MAX_UNSENT_BYTES,
      pause: () => socket.pause(),
      resume: () => socket.resume(),
      end: () => new Promise<void>(resolve => {
        if (socket.destroyed) resolve()
        else socket.end(resolve)
      }),
      destroy: () => socket.destroy(),
      get closed () { return socket.destroyed },
    },
  })

  socket.on('drain', session.drained)

  const idleTimer = opts.idleTimeoutMs > 0
    ? setInterval(() => {
      // a connection that holds a subscription is never idle (rcp.md §1, Extension)
      if (!session.busy() && Date.now() - lastInbound >= opts.idleTimeoutMs) {
        opts.logger.debug('idle timeout')
        socket.destroy()
      }
    }, Math.min(opts.idleTimeoutMs, 1000)).unref()
    : null

  let failed = false
  socket.on('data', (chunk: Buffer) => {
    if (failed) return
    lastInbound = Date.now()
    const fatal = decoder.push(chunk, session.receive)
    if (fatal !== null) {
      opts.logger.debug({ reason: fatal }, 'closing connection: bad framing')
      failed = true
      socket.destroy()
    }
  })
  socket.on('error', err => opts.logger.debug({ err: err.message }, 'socket error'))
  socket.on('close', () => {
    if (idleTimer !== null) clearInterval(idleTimer)
    session.closed()
    opts.onClose()
  })

  return { shutdown: session.shutdown }
}
