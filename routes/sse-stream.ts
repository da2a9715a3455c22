import type { ServerResponse } from 'node:http'
import type { HttpServices } from './context.js'

/**
 * One Server-Sent Events response (history.md §6, WHATWG HTML "Server-sent events"),
 * written straight to the socket: the bus's sink pauses on `write() === false` and resumes
 * on `drain`, so a slow reader fills its subscription's bounded queue and gets the
 * overflow notice instead of growing a buffer here.
 */

export type Sink = Parameters<HttpServices['attach']>[0]

export interface SseStream {
  /** the bus writes events and the end notice through it */
  readonly sink: Sink
  /** 200 with `headers` and the event-stream ones, and a comment naming the subscription */
  begin: (headers: Record<string, string | number | string[] | undefined>, subscribed: object) => void
  /** a `: ping` comment, unless the client is behind (it would only add to what waits) */
  ping: () => void
  /** resolves once the response is over: ended by the server or closed by the client */
  readonly closed: Promise<void>
  destroy: () => void
}

/** `data:` is one line: compact JSON never holds a raw CR or LF. */
const frame = (id: number, data: string, event?: string): string =>
  event === undefined ? `id: ${id}\ndata: ${data}\n\n` : `id: ${id}\nevent: ${event}\ndata: ${data}\n\n`

export function sseStream (res: ServerResponse): SseStream {
  const over = (): boolean => res.writableEnded || res.destroyed
  const closed = new Promise<void>(resolve => res.once('close', resolve))
  // a socket error ends the response ('close' follows); nothing to report to anyone
  res.on('error', () => {})
  return {
    sink: {
      send (text, kind, position) {
        if (over()) return true
        // the end notice's id is the last offset it covers: a browser reconnects with it as
        // Last-Event-ID, which resumes exactly at resume_from_offset
        if (kind === 'end') {
          res.end(frame(position, text, 'subscription_end'))
          return true
        }
        return res.write(frame(position, text))
      },
      onDrain (callback) { res.once('drain', callback) },
    },
    begin (headers, subscribed) {
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value)
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        // proxies such as nginx buffer responses unless told not to
        'x-accel-buffering': 'no',
      })
      res.write(`: subscribed ${JSON.stringify(subscribed)}\n\n`)
    },
    ping () {
      if (!over() && !res.writableNeedDrain) res.write(': ping\n\n')
    },
    closed,
    destroy () { res.destroy() },
  }
}
