import { setTimeout as sleep } from 'node:timers/promises'
import { RequestError } from '@nats-io/transport-node'
import type { NatsConnection, Subscription } from '@nats-io/transport-node'
import type { JsonObject } from '../../protocol/entries.js'
import { badRequest, isErrorCode, RcpError, toRcpError, unavailable } from '../../protocol/errors.js'
import type { ErrorBody } from '../../protocol/errors.js'
import { isOpName } from '../../protocol/schemas.js'
import type { OpName } from '../../protocol/schemas.js'
import type { OpOutcome } from '../ops/types.js'

/**
 * Write forwarding (cluster.md §4): a follower sends the request's op and params to
 * `<prefix>.rpc.write`, which only the leader subscribes to while it takes writes, and
 * gets the leader's result or error back. The caller's authentication was checked by
 * the node it reached.
 */

interface ForwardRequest {
  op: string
  params: unknown
}

/** the leader's answer: a result, an error, or "not (or no longer) the leader: ask again" */
type ForwardReply =
  | { result: JsonObject, wal_offset: number }
  | { error: ErrorBody }
  | { retry: true }

/** First and longest pause between attempts while no leader answers. */
const RETRY_FIRST_MS = 20
const RETRY_MAX_MS = 250

/** Serves forwarded writes with `handle`; `handle` returns null when this node does not take writes (any more). */
export function serveWrites (nc: NatsConnection, subject: string, handle: (op: OpName, params: unknown) => Promise<OpOutcome> | null): Subscription {
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err !== null) return
      let request: ForwardRequest
      try {
        request = msg.json<ForwardRequest>()
      } catch {
        msg.respond(JSON.stringify({ error: badRequest('malformed forwarded write').toJSON() }))
        return
      }
      const op = request?.op
      if (!isOpName(op)) {
        msg.respond(JSON.stringify({ error: badRequest(`unknown op: ${String(op)}`, { op }).toJSON() }))
        return
      }
      const pending = handle(op, request.params)
      if (pending === null) {
        msg.respond(JSON.stringify({ retry: true }))
        return
      }
      pending.then(
        (o) => {
          const reply = JSON.stringify({ result: o.result, wal_offset: o.walOffset })
          // larger than max_payload: the write was made, but its result cannot travel back
          if (Buffer.byteLength(reply) <= (nc.info?.max_payload ?? Infinity)) msg.respond(reply)
          else msg.respond(JSON.stringify({ error: tooLarge(o.walOffset).toJSON() }))
        },
        (e: unknown) => msg.respond(JSON.stringify({ error: toRcpError(e).toJSON() })))
    },
  })
}

function tooLarge (walOffset: number): RcpError {
  return new RcpError('INTERNAL_ERROR', `the write was made at offset ${walOffset}, but its result exceeds the NATS max_payload and cannot be forwarded; read it back, or raise max_payload`,
    { wal_offset: walOffset })
}

function fromBody (body: ErrorBody): RcpError {
  return isErrorCode(body.code) ? new RcpError(body.code, body.message, body.details ?? {}) : new RcpError('INTERNAL_ERROR', body.message)
}

/** Tells when the leader a request went to is gone; one per attempt. */
export type LeaderGone = () => { gone: Promise<void>, cancel: () => void }

const GONE: unique symbol = Symbol('leader gone')

/**
 * Sends a write to the leader and returns its outcome. While no leader answers (an
 * election, no responders), it asks again until `waitMs` has passed, then fails with
 * WAL_IO_ERROR `no_leader`. A request the leader may have received but did not answer
 * is not sent again: its outcome is unknown, so it fails (retryable): when the leader
 * is gone (`leaderGone`: its lease lapsed or another node holds it), at once, rather
 * than at the end of `waitMs`.
 */
export async function forwardWrite (nc: NatsConnection, subject: string, op: string, params: unknown, waitMs: number, leaderGone: LeaderGone): Promise<OpOutcome> {
  const payload = Buffer.from(JSON.stringify({ op, params }), 'utf8')
  const limit = nc.info?.max_payload ?? Infinity
  if (payload.length > limit) {
    throw badRequest(`request too large to forward to the leader: ${payload.length} bytes (NATS max_payload ${limit})`,
      { reason: 'record_too_large', size: payload.length, limit })
  }
  const deadline = performance.now() + waitMs
  let pause = RETRY_FIRST_MS
  for (;;) {
    const left = deadline - performance.now()
    if (left <= 0) break
    let reply: ForwardReply
    const watch = leaderGone()
    try {
      const answer = await Promise.race([nc.request(subject, payload, { timeout: Math.max(1, Math.ceil(left)) }), watch.gone.then(() => GONE)])
      if (typeof answer === 'symbol') {
        throw unavailable('leadership_lost', 'the leader went away while the write was forwarded to it; the write may or may not have been made')
      }
      reply = answer.json<ForwardReply>()
    } catch (err) {
      if (err instanceof RcpError) throw err
      if (!(err instanceof RequestError && err.isNoResponders())) {
        throw unavailable('no_leader', `the leader did not answer within ${waitMs} ms (${(err as Error).message}); the write may or may not have been made`)
      }
      reply = { retry: true }
    } finally {
      watch.cancel()
    }
    if ('result' in reply) return { result: reply.result, walOffset: reply.wal_offset }
    if ('error' in reply) throw fromBody(reply.error)
    await sleep(Math.min(pause, Math.max(0, deadline - performance.now())))
    pause = Math.min(pause * 2, RETRY_MAX_MS)
  }
  throw unavailable('no_leader', `no leader took the write within ${waitMs} ms (election in progress)`)
}
