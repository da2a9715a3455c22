import WebSocket from 'ws'
import { ClientError, type OpInput } from 'rstmdb'
import { formatAddress, type Address } from '../../protocol/address.js'
import { soakClient } from './faces.js'
import type { AckedApply } from './ledger.js'
import type { Rng } from './rng.js'

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Watchers over RCP and the WebSocket route. Some drop their connection on purpose
 * and resume at `from_offset` = last offset seen + 1; an overflow notice resumes at its
 * `resume_from_offset`. Everything received, across resumes, is kept for the checks.
 */

export interface WatchSpec {
  name: string
  face: 'rcp' | 'ws'
  instance_id?: string
  machines?: string[]
  events?: string[]
  from_states?: string[]
  to_states?: string[]
  include_ctx: boolean
  disconnects: boolean
}

/** an event as a watcher saw it: the acknowledged apply's fields, ctx only when include_ctx */
export type Received = Omit<AckedApply, 'ctx'> & { ctx?: unknown }

export interface Watcher {
  spec: WatchSpec
  received: Received[]
  /** offset ranges [from, to] compacted away before a resume could read them: not expected */
  gaps: Array<[number, number]>
  sessions: number
  overflows: number
  errors: string[]
  /** resolves once every matching event below `offset` + 1 has arrived, or after `timeoutMs` */
  waitPast: (offset: number, timeoutMs: number) => Promise<boolean>
  stop: () => Promise<void>
}

export interface WatchTarget {
  rcp: Address
  http: Address | null
  token: string | null
}

export function matches (spec: WatchSpec, a: AckedApply): boolean {
  const within = (list: string[] | undefined, value: string): boolean => list === undefined || list.length === 0 || list.includes(value)
  if (spec.instance_id !== undefined) return a.instance_id === spec.instance_id
  return within(spec.machines, a.machine) && within(spec.events, a.event) && within(spec.from_states, a.from_state) && within(spec.to_states, a.to_state)
}

type Opened = { ok: true, close: () => void, done: Promise<void> } | { ok: false, error: any }
type StreamHandler = (message: any) => void

function subscribeParams (spec: WatchSpec, from: number): Record<string, unknown> {
  const base = { include_ctx: spec.include_ctx, from_offset: from }
  if (spec.instance_id !== undefined) return { ...base, instance_id: spec.instance_id }
  const lists: Record<string, string[]> = {}
  for (const k of ['machines', 'events', 'from_states', 'to_states'] as const) if (spec[k] !== undefined) lists[k] = spec[k] as string[]
  return { ...base, ...lists }
}

/**
 * The SDK resumes by itself; here it must not, since resuming is what the soak checks:
 * an end notice comes back as the SUBSCRIPTION_ENDED error, handed on as the notice.
 */
async function openRcp (target: WatchTarget, spec: WatchSpec, from: number, onStream: StreamHandler): Promise<Opened> {
  const client = await soakClient(target.rcp, target.token, { reconnect: false })
  const params = subscribeParams(spec, from)
  const watch = spec.instance_id !== undefined
    ? client.watchInstance(params as OpInput<'WATCH_INSTANCE'>)
    : client.watchAll(params as OpInput<'WATCH_ALL'>)
  try {
    await watch.subscribed
  } catch (err) {
    client.destroy()
    return { ok: false, error: err }
  }
  const done = (async () => {
    try {
      for await (const event of watch) onStream(event)
    } catch (err) {
      if (err instanceof ClientError && err.code === 'SUBSCRIPTION_ENDED') onStream({ type: 'subscription_end', ...err.details })
    }
  })()
  return { ok: true, close: () => client.destroy(), done }
}

function openWs (target: WatchTarget, spec: WatchSpec, from: number, onStream: StreamHandler): Promise<Opened> {
  if (target.http === null) throw new Error('WebSocket watcher without an HTTP address')
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(subscribeParams(spec, from))) q.set(k, Array.isArray(v) ? v.join(',') : String(v))
  if (target.token !== null) q.set('access_token', target.token)
  const ws = new WebSocket(`ws://${formatAddress(target.http)}/v1/watch?${q.toString()}`)
  const done = new Promise<void>(resolve => ws.once('close', () => resolve()))
  return new Promise((resolve, reject) => {
    let opened = false
    ws.once('error', err => { if (!opened) reject(err) })
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString('utf8'))
      if (m.type === 'response' && m.id === 'open') {
        opened = true
        if (m.status === 'ok') resolve({ ok: true, close: () => ws.terminate(), done })
        else {
          ws.terminate()
          resolve({ ok: false, error: m.error })
        }
        return
      }
      onStream(m)
    })
  })
}

export function startWatcher (target: WatchTarget, spec: WatchSpec, firstOffset: number, rng: Rng): Watcher {
  const received: Received[] = []
  const gaps: Array<[number, number]> = []
  const errors: string[] = []
  let next = firstOffset
  let stopping = false
  let closeCurrent: () => void = () => {}
  let wake: () => void = () => {}

  const watcher: Watcher = {
    spec,
    received,
    gaps,
    sessions: 0,
    overflows: 0,
    errors,
    async waitPast (offset, timeoutMs) {
      const deadline = Date.now() + timeoutMs
      // eslint-disable-next-line no-unmodified-loop-condition -- the watch's message handler advances next while the loop sleeps
      while (next <= offset && errors.length === 0 && Date.now() < deadline) await sleep(50)
      return next > offset
    },
    async stop () {
      stopping = true
      closeCurrent()
      wake()
      await loop
    },
  }

  function onStream (live: { on: boolean }, m: any): void {
    if (!live.on) return
    if (m.type === 'event') {
      received.push({
        offset: m.wal_offset,
        instance_id: m.instance_id,
        machine: m.machine,
        event: m.event,
        from_state: m.from_state,
        to_state: m.to_state,
        ...(spec.include_ctx ? { ctx: m.ctx } : {}),
      })
      next = m.wal_offset + 1
    } else if (m.type === 'subscription_end') {
      if (m.reason === 'overflow') watcher.overflows++
      next = Math.max(next, m.resume_from_offset)
      live.on = false
      wake()
    }
  }

  async function session (): Promise<void> {
    const live = { on: true }
    const open = spec.face === 'rcp' ? openRcp : openWs
    const opened = await open(target, spec, next, m => onStream(live, m))
    if (!opened.ok) {
      const e = opened.error
      if (e?.code === 'NOT_FOUND' && e.details?.reason === 'offset_compacted') {
        gaps.push([next, e.details.earliest_offset - 1])
        next = e.details.earliest_offset
        return
      }
      errors.push(`subscribe from ${next}: ${JSON.stringify(e)}`)
      stopping = true
      return
    }
    watcher.sessions++
    closeCurrent = () => { live.on = false; opened.close() }
    const dropAfter = spec.disconnects ? 800 + Math.floor(rng() * 2000) : 0
    await new Promise<void>(resolve => {
      wake = resolve
      if (stopping) resolve()
      const timer = dropAfter > 0 ? setTimeout(resolve, dropAfter) : null
      opened.done.then(() => {
        if (live.on && !stopping) errors.push(`connection closed by the server after offset ${next - 1}`)
        resolve()
      }, resolve)
      if (timer !== null) opened.done.finally(() => clearTimeout(timer)).catch(() => {})
    })
    // a deliberate drop: nothing that arrives after this point is counted
    closeCurrent()
  }

  const loop = (async () => {
    while (!stopping) {
      try {
        await session()
      } catch (err) {
        errors.push(`session: ${(err as Error).message}`)
        stopping = true
      }
    }
  })()
  return watcher
}
