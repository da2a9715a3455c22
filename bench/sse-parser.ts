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
  const terminator = /\r\n|\r|\n/g
  return (chunk) => {
    buffer += chunk
    // a CR that ended the previous chunk and an LF that starts this one are one line break
    if (pendingCr && buffer.startsWith('\n')) buffer = buffer.slice(1)
    pendingCr = false
    let start = 0
    terminator.lastIndex = 0
    for (let m = terminator.exec(buffer); m !== null; m = terminator.exec(buffer)) {
      pendingCr = m[0] === '\r' && m.index === buffer.length - 1
      line(buffer.slice(start, m.index))
      start = m.index + m[0].length
    }
    buffer = buffer.slice(start)
  }
}
