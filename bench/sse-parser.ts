/**
 * Server-Sent Events parsing as a browser's EventSource does it (WHATWG HTML "Server-sent
 * events", parsing an event stream): for the SSE fan-out benchmark and, through
 * test/support/sse.ts, the SSE tests.
 */

export interface SseMessage {
  /** the `event:` field; 'message' when there was none (what EventSource.onmessage gets) */
  event: string
  data: string
  /** the last event id once this message was dispatched (EventSource.lastEventId) */
  lastEventId: string
  /** the message had an `id:` line of its own */
  hasId: boolean
}

/** Feeds text in; calls back for each dispatched message and each comment line. */
export function sseParser (onMessage: (m: SseMessage) => void, onComment: (text: string) => void = () => {}): (chunk: string) => void {
  let buffer = ''
  let data: string[] = []
  let event = ''
  let lastEventId = ''
  let hasId = false
  let pendingCr = false
  function line (text: string): void {
    if (text === '') {
      if (data.length > 0) onMessage({ event: event === '' ? 'message' : event, data: data.join('\n'), lastEventId, hasId })
      data = []
      event = ''
      hasId = false
      return
    }
    if (text.startsWith(':')) {
      onComment(text.slice(1).replace(/^ /, ''))
      return
    }
    const colon = text.indexOf(':')
    const field = colon < 0 ? text : text.slice(0, colon)
    const value = colon < 0 ? '' : text.slice(colon + 1).replace(/^ /, '')
    if (field === 'data') data.push(value)
    else if (field === 'event') event = value
    else if (field === 'id' && !value.includes('\0')) {
      lastEventId = value
      hasId = true
    }
  }
  return (chunk) => {
    buffer += chunk
    let start = 0
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer[i]
      if (c === '\n' && pendingCr) {
        pendingCr = false
        start = i + 1
        continue
      }
      pendingCr = false
      if (c === '\n' || c === '\r') {
        line(buffer.slice(start, i))
        pendingCr = c === '\r'
        start = i + 1
      }
    }
    buffer = buffer.slice(start)
  }
}
