import { createStore } from './store.js'

/**
 * Every call the console makes goes through here: the public REST API with the
 * signed-in token as a Bearer header, and every error as the server's
 * problem+json (http.md "Errors"), so pages can show its title, detail and code.
 */

export interface Problem {
  title: string
  status: number
  detail: string
  code: string
  retryable?: boolean
  details?: Record<string, unknown>
}

export class ApiError extends Error {
  constructor (readonly problem: Problem) {
    super(problem.detail)
  }
}

const TOKEN_KEY = 'rstmdb.token'

/** The bearer token of this tab (sessionStorage: it goes away with the tab). */
export const token = createStore<string | null>(sessionStorage.getItem(TOKEN_KEY))
/** Set when the server answered 401: the sign-in prompt shows, with the code it gave. */
export const signInNeeded = createStore<string | null>(null)
/** Bumped after signing in, so pages load again with the token. */
export const session = createStore(0)

export function signIn (value: string): void {
  sessionStorage.setItem(TOKEN_KEY, value)
  token.set(value)
  signInNeeded.set(null)
  session.set(session.get() + 1)
}

/** Only a server that asked for a token ever gets one, so signing out means signing in again. */
export function signOut (): void {
  sessionStorage.removeItem(TOKEN_KEY)
  token.set(null)
  signInNeeded.set('UNAUTHORIZED')
  session.set(session.get() + 1)
}

export interface Answer<T> {
  data: T
  status: number
  headers: Headers
}

export interface CallOptions {
  json?: unknown
  headers?: Record<string, string>
  query?: Record<string, string | number | boolean | undefined>
}

export function withQuery (path: string, query: CallOptions['query'] = {}): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value))
  const text = params.toString()
  return text === '' ? path : `${path}?${text}`
}

/** `/v1/machines/${seg(name)}`: ids may hold `/`, `?`, `#` or `..` and must stay one path segment. */
export const seg = (value: string | number): string => encodeURIComponent(String(value))

async function problemOf (res: Response): Promise<Problem> {
  const text = await res.text()
  try {
    const body = JSON.parse(text) as Partial<Problem>
    if (typeof body.code === 'string' && typeof body.title === 'string') {
      return { title: body.title, status: res.status, detail: String(body.detail ?? ''), code: body.code, retryable: body.retryable, details: body.details }
    }
  } catch {}
  return { title: res.statusText || 'Request failed', status: res.status, detail: text.slice(0, 500), code: `HTTP_${res.status}` }
}

async function send (method: string, path: string, opts: CallOptions, accept: string): Promise<Response> {
  const headers: Record<string, string> = { accept, ...opts.headers }
  const bearer = token.get()
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`
  let body: string | undefined
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json)
    headers['content-type'] = 'application/json'
  }
  let res: Response
  try {
    res = await fetch(withQuery(path, opts.query), { method, headers, body })
  } catch {
    throw new ApiError({ title: 'Server unreachable', status: 0, detail: `${method} ${path} could not reach the server`, code: 'NETWORK' })
  }
  if (res.ok) return res
  const problem = await problemOf(res)
  if (res.status === 401) signInNeeded.set(problem.code)
  throw new ApiError(problem)
}

export async function api<T = any> (method: string, path: string, opts: CallOptions = {}): Promise<Answer<T>> {
  const res = await send(method, path, opts, 'application/json')
  const text = await res.text()
  return { data: (text === '' ? null : JSON.parse(text)) as T, status: res.status, headers: res.headers }
}

/** A non-JSON body (the SVG of a diagram) as a Blob. */
export async function apiBlob (path: string, query?: CallOptions['query']): Promise<Blob> {
  const res = await send('GET', path, { query }, '*/*')
  return await res.blob()
}

/** Any thrown value as a problem to show. */
export function asProblem (err: unknown): Problem {
  if (err instanceof ApiError) return err.problem
  return { title: 'Unexpected error', status: 0, detail: err instanceof Error ? err.message : String(err), code: 'CLIENT' }
}
