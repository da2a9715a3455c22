import type { Static } from '@sinclair/typebox'
import { useEffect, useRef, useState } from 'preact/hooks'
import type { EventMessage, LifecycleEvent } from '../../protocol/schemas/envelopes.js'
import { api, signInNeeded, token, type Problem } from './api.js'
import { useInfo } from './features.js'
import { useStore } from './store.js'

/**
 * Live events over the WebSocket watch (http.md "WebSocket watch"). The socket
 * subscribes from its query string; every event's offset is remembered, so after
 * a drop (server restart, network, overflow notice) the next socket asks for
 * `from_offset` = last seen + 1 and the page catches up without a gap.
 */

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'paused' | 'refused'

/** a transition, or with `lifecycle=true` a creation or deletion (they carry `kind`): the server's own schemas, as types only */
export type LiveEvent = Static<typeof EventMessage> | Static<typeof LifecycleEvent>

export interface LiveOptions {
  /** watch query: instance_id, or machines/events/from_states/to_states (comma-separated); lifecycle */
  query: Record<string, string | undefined>
  onEvent: (event: LiveEvent) => void
  /** after a reconnect: the page may reload what it shows */
  onResumed?: () => void
  /** the subscription was refused (e.g. unknown instance) */
  onRefused?: (problem: Problem) => void
  paused?: boolean
}

const MAX_BACKOFF_MS = 5000

function socketUrl (query: Record<string, string | undefined>, fromOffset: number | null): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, v)
  if (fromOffset !== null) params.set('from_offset', String(fromOffset))
  const bearer = token.get()
  if (bearer !== null) params.set('access_token', bearer)
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/watch?${params.toString()}`
}

/** Connection state and the last offset seen, for the live badge; events go to `onEvent`. */
export function useLive (opts: LiveOptions, deps: unknown[]): { status: LiveStatus, lastOffset: number | null } {
  const [status, setStatus] = useState<LiveStatus>('connecting')
  const [lastOffset, setLastOffset] = useState<number | null>(null)
  // a socket opens only once the API has accepted this tab's credentials: a refused upgrade is an
  // error the page cannot catch, an answered INFO is not
  const serverInfo = useInfo()
  const refused = useStore(signInNeeded)
  const admitted = serverInfo !== null && refused === null
  const handlers = useRef(opts)
  handlers.current = opts
  // the offset to resume from survives pause/resume of the same subscription
  const resume = useRef<number | null>(null)
  useEffect(() => { resume.current = null; setLastOffset(null) }, deps)

  useEffect(() => {
    if (opts.paused === true) {
      setStatus('paused')
      return
    }
    if (!admitted) {
      setStatus('connecting')
      return
    }
    let socket: WebSocket | null = null
    let stopped = false
    let retries = 0
    let timer: ReturnType<typeof setTimeout> | undefined

    // after a drop or a resume point that had aged out, the page reloads what it shows once live again
    let resync = false
    const connect = (): void => {
      const ws = new WebSocket(socketUrl(handlers.current.query, resume.current))
      socket = ws
      let opened = false
      // the server refused the subscription for good (say, an unknown instance): no point asking again
      let refusedForGood = false
      ws.onmessage = (message) => {
        let m: any
        try { m = JSON.parse(String(message.data)) } catch { return }
        if (m.type === 'response' && m.id === 'open') {
          if (m.status === 'ok') {
            opened = true
            retries = 0
            const head = m.result.wal_offset ?? m.result.current_wal_offset
            if (resume.current === null && typeof head === 'number') resume.current = head + 1
            setStatus('live')
            if (resync) handlers.current.onResumed?.()
            resync = false
          } else {
            const e = m.error ?? {}
            // a resume point the WAL no longer holds: start again from now, the page reloads what it shows
            if (resume.current !== null && e.code === 'NOT_FOUND') {
              resume.current = null
              resync = true
              ws.close()
              return
            }
            refusedForGood = e.retryable !== true
            handlers.current.onRefused?.({ title: String(e.code ?? 'Error'), status: 0, detail: String(e.message ?? ''), code: String(e.code ?? 'ERROR'), details: e.details })
          }
        } else if (m.type === 'event') {
          resume.current = m.wal_offset + 1
          setLastOffset(m.wal_offset)
          handlers.current.onEvent(m as LiveEvent)
        } else if (m.type === 'subscription_end') {
          resume.current = m.resume_from_offset
          ws.close()
        }
      }
      // after a refused open subscribe the server closes with 4000 + its HTTP status; a refused token is 4401
      ws.onclose = () => {
        if (stopped) return
        if (refusedForGood) {
          setStatus('refused')
          return
        }
        resync = true
        setStatus('reconnecting')
        // refused before opening: a GET tells 401 (sign-in) apart from a server that is away
        if (!opened) api('GET', '/v1/info').catch(() => {})
        const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** retries++)
        timer = setTimeout(connect, delay)
      }
    }
    setStatus('connecting')
    connect()
    return () => {
      stopped = true
      clearTimeout(timer)
      socket?.close()
    }
  }, [...deps, opts.paused, admitted, token.get()])

  return { status, lastOffset }
}
