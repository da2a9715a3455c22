import t from 'tap'
import type { LoggingSection } from '../../src/config.js'
import { createLogger, type Logger } from '../../src/logger.js'

function capture (logging: LoggingSection): { logger: Logger, lines: string[] } {
  const lines: string[] = []
  return { logger: createLogger(logging, { write: (chunk: string) => { lines.push(chunk) } }), lines }
}

t.test('json: timestamp, level label, message and fields, one object per line', async (t) => {
  const { logger, lines } = capture({ level: 'info', format: 'json' })
  logger.info({ conn_id: 7, op: 'PING' }, 'request served')
  t.equal(lines.length, 1)
  t.ok(lines[0].endsWith('\n'))
  const entry = JSON.parse(lines[0])
  t.same(Object.keys(entry).sort(), ['conn_id', 'level', 'message', 'op', 'timestamp'])
  t.match(entry, { level: 'info', message: 'request served', conn_id: 7, op: 'PING' })
  t.match(entry.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.equal(new Date(entry.timestamp).toISOString(), entry.timestamp)
})

t.test('levels map to pino and filter below the configured one', async (t) => {
  const levels = ['trace', 'debug', 'info', 'warn', 'error'] as const
  for (const [i, level] of levels.entries()) {
    const { logger, lines } = capture({ level, format: 'json' })
    for (const each of levels) logger[each](each)
    t.same(lines.map((line) => JSON.parse(line).level), levels.slice(i), level)
    t.same(lines.map((line) => JSON.parse(line).message), levels.slice(i))
  }
})

t.test('child loggers carry their bindings', async (t) => {
  const { logger, lines } = capture({ level: 'info', format: 'json' })
  logger.child({ req_id: 'r-1' }).warn({ status: 503 }, 'not ready')
  t.match(JSON.parse(lines[0]), { level: 'warn', req_id: 'r-1', status: 503, message: 'not ready' })
})

t.test('errors are serialized with their stack', async (t) => {
  const { logger, lines } = capture({ level: 'info', format: 'json' })
  logger.error({ err: new Error('disk full') }, 'fsync failed')
  const entry = JSON.parse(lines[0])
  t.match(entry, { level: 'error', message: 'fsync failed', err: { type: 'Error', message: 'disk full' } })
  t.match(entry.err.stack, /^Error: disk full\n/)
})

t.test('tokens and authorization headers are redacted', async (t) => {
  const { logger, lines } = capture({ level: 'info', format: 'json' })
  logger.info({
    token: 'secret-1',
    authorization: 'Bearer secret-2',
    params: { token: 'secret-3' },
    req: { headers: { authorization: 'Bearer secret-4', host: 'localhost' } }
  }, 'auth')
  logger.child({ token: 'secret-5' }).info('bound')
  const output = lines.join('')
  t.notMatch(output, /secret-\d/)
  const entry = JSON.parse(lines[0])
  t.same(entry.req.headers, { authorization: '[redacted]', host: 'localhost' })
  t.equal(entry.params.token, '[redacted]')
})

t.test('pretty: HH:MM:SS.mmm LEVEL message key=value', async (t) => {
  const { logger, lines } = capture({ level: 'debug', format: 'pretty' })
  logger.info({ conn_id: 7, peer: '127.0.0.1:5000', note: 'two words', meta: { a: 1 }, token: 'hidden' }, 'connected')
  logger.debug('no fields')
  logger.trace('filtered out')
  logger.error({ err: new Error('boom') }, 'crashed')
  t.equal(lines.length, 3)
  t.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} INFO {2}connected conn_id=7 peer=127\.0\.0\.1:5000 note="two words" meta=\{"a":1\} token=\[redacted\]\n$/)
  t.match(lines[1], /^\d\d:\d\d:\d\d\.\d{3} DEBUG no fields\n$/)
  t.match(lines[2], /^\d\d:\d\d:\d\d\.\d{3} ERROR crashed\n {4}Error: boom\n {8}at /)
  t.notMatch(lines[2], '"stack"')
})
