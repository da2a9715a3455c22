import { Agent, fetch } from 'undici'
import { sseParser, type SseMessage } from '../../bench/sse-parser.js'

export { sseParser, type SseMessage } from '../../bench/sse-parser.js'

/**
 * A Server-Sent Events client as a browser's EventSource reads a stream, over undici's
 * fetch so the bytes come from a real HTTP client.
 */

export interface SseClient {
  status: number
  headers: Headers
  /** every message so far, in order */
  messages: SseMessage[]
  /** the `data` of every message without an `event:` field, parsed */
  events: () => any[]
  comments: string[]
  /** resolves once a message (parsed data) satisfies the predicate; checks earlier ones too */
  waitFor: (predicate: (data: any, message: SseMessage) => boolean, timeoutMs?: number) => Promise<any>
  /** resolves once `count` comments have arrived */
  waitForComments: (count: number, timeoutMs?: number) => Promise<void>
  /** resolves when the server ended the stream (or the client closed it) */
  ended: Promise<void>
  /** stops reading the body: the server's writes back up once the socket buffers are full */
  pause: () => void
  resume: () => void
  close: () => void
}

function within<T> (promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Opens a stream. A non-200 answer resolves too (status, headers, and the problem body in
 * `problem`), so tests can look at refusals made before the stream starts.
 */
export async function openSse (url: string, headers: Record<string, string> = {}): Promise<SseClient & { problem: any }> {
  const abort = new AbortController()
  // a connection of its own, gone with the stream: a pool would keep a spare one open to the server
  const agent = new Agent({ connections: 1, pipelining: 0 })
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal, dispatcher: agent })
  const messages: SseMessage[] = []
  const comments: string[] = []
  const waiters = new Set<() => void>()
  const wake = (): void => { for (const w of [...waiters]) w() }
  let gate: Promise<void> | null = null
  let open: (() => void) | null = null
  if (res.status !== 200 || res.body === null) {
    const text = await res.text()
    await agent.close()
    let problem: unknown = text
    try { problem = JSON.parse(text) } catch {}
    return { ...inert(res), problem }
  }
  const parse = sseParser(m => { messages.push(m); wake() }, c => { comments.push(c); wake() })
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let over = false
  const ended = (async () => {
    try {
      for (;;) {
        if (gate !== null) await gate
        const { done, value } = await reader.read()
        if (done) break
        parse(decoder.decode(value, { stream: true }))
      }
    } catch {
      // aborted by close()
    }
    over = true
    wake()
    await agent.destroy()
  })()

  function waitUntil<T> (check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return within(new Promise<T>((resolve, reject) => {
      const test = (): void => {
        const found = check()
        if (found !== undefined) {
          waiters.delete(test)
          resolve(found)
        } else if (over) {
          waiters.delete(test)
          reject(new Error(`the stream ended before ${what}`))
        }
      }
      waiters.add(test)
      test()
    }), timeoutMs, what)
  }

  return {
    status: res.status,
    headers: res.headers,
    problem: null,
    messages,
    events: () => messages.filter(m => m.event === 'message').map(m => JSON.parse(m.data)),
    comments,
    waitFor (predicate, timeoutMs = 20_000) {
      return waitUntil(() => {
        for (const m of messages) {
          const data = JSON.parse(m.data)
          if (predicate(data, m)) return data
        }
        return undefined
      }, timeoutMs, 'a matching message')
    },
    async waitForComments (count, timeoutMs = 20_000) {
      await waitUntil(() => comments.length >= count ? true : undefined, timeoutMs, `${count} comments`)
    },
    ended,
    pause () {
      gate ??= new Promise(resolve => { open = resolve })
    },
    resume () {
      open?.()
      gate = null
      open = null
    },
    close () {
      abort.abort()
    },
  }
}

function inert (res: { status: number, headers: Headers }): SseClient {
  return {
    status: res.status,
    headers: res.headers,
    messages: [],
    events: () => [],
    comments: [],
    waitFor: async () => { throw new Error(`no stream: HTTP ${res.status}`) },
    waitForComments: async () => { throw new Error(`no stream: HTTP ${res.status}`) },
    ended: Promise.resolve(),
    pause () {},
    resume () {},
    close () {},
  }
}
