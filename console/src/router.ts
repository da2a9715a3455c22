import { useEffect, useState } from 'preact/hooks'

/**
 * Deep-linkable pages on the History API. Path segments are URL-encoded names,
 * so a machine or instance id may hold any character. The server answers every
 * one of these paths with the app (routes/console.ts).
 */

export type Route =
  | { page: 'machines', creating: boolean }
  | { page: 'machine', machine: string }
  | { page: 'version', machine: string, version: string }
  | { page: 'new-version', machine: string }
  | { page: 'instances', machine: string, state: string, after: string }
  | { page: 'instance', id: string, at: number | null }
  | { page: 'events' }
  | { page: 'server' }
  | { page: 'not-found', path: string }

export function parseRoute (url: URL): Route {
  // a trailing slash is not a segment; an encoded one (%2F) inside a name is
  const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/$/, '') : url.pathname
  const parts = pathname.split('/').slice(1).map((s) => {
    try { return decodeURIComponent(s) } catch { return s }
  })
  const q = url.searchParams
  const [head, a, b, c] = parts
  const n = parts.length
  if (head === '' || (head === 'machines' && n === 1)) return { page: 'machines', creating: q.has('new') }
  if (head === 'machines' && n === 2) return { page: 'machine', machine: a }
  if (head === 'machines' && n === 4 && b === 'versions') return c === 'new' ? { page: 'new-version', machine: a } : { page: 'version', machine: a, version: c }
  if (head === 'instances' && n === 1) return { page: 'instances', machine: q.get('machine') ?? '', state: q.get('state') ?? '', after: q.get('after') ?? '' }
  if (head === 'instances' && n === 2) {
    const at = q.get('at')
    return { page: 'instance', id: a, at: at !== null && /^\d+$/.test(at) ? Number(at) : null }
  }
  if (head === 'events' && n === 1) return { page: 'events' }
  if (head === 'server' && n === 1) return { page: 'server' }
  return { page: 'not-found', path: url.pathname }
}

const CHANGE = 'rstmdb:navigate'

export function navigate (to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to)
  else history.pushState(null, '', to)
  window.dispatchEvent(new Event(CHANGE))
  if (!replace) window.scrollTo(0, 0)
}

export function useRoute (): Route {
  const [route, setRoute] = useState(() => parseRoute(new URL(location.href)))
  useEffect(() => {
    const update = (): void => setRoute(parseRoute(new URL(location.href)))
    window.addEventListener('popstate', update)
    window.addEventListener(CHANGE, update)
    return () => {
      window.removeEventListener('popstate', update)
      window.removeEventListener(CHANGE, update)
    }
  }, [])
  return route
}

const e = encodeURIComponent
export const paths = {
  machines: () => '/machines',
  newMachine: () => '/machines?new',
  machine: (m: string) => `/machines/${e(m)}`,
  version: (m: string, v: number | string) => `/machines/${e(m)}/versions/${e(String(v))}`,
  newVersion: (m: string) => `/machines/${e(m)}/versions/new`,
  instances: (q: { machine?: string, state?: string, after?: string } = {}) => {
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, v)
    const s = params.toString()
    return s === '' ? '/instances' : `/instances?${s}`
  },
  instance: (id: string, at?: number) => `/instances/${e(id)}${at === undefined ? '' : `?at=${at}`}`,
  events: () => '/events',
  server: () => '/server',
}
