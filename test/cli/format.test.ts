import t from 'tap'
import { formatBytes } from '../../src/cli/format.js'
import { envFlag } from '../../src/cli/settings.js'
import { PLAIN, styleFor } from '../../src/cli/style.js'

// The pieces of output and option handling that the process-level tests cannot reach (a TTY).

t.test('byte sizes use binary units with 2 decimals', async t => {
  t.equal(formatBytes(0), '0 B')
  t.equal(formatBytes(1023), '1023 B')
  t.equal(formatBytes(1024), '1.00 KB')
  t.equal(formatBytes(1536), '1.50 KB')
  t.equal(formatBytes(1024 * 1024), '1.00 MB')
  t.equal(formatBytes(73400320), '70.00 MB')
  t.equal(formatBytes(3 * 1024 ** 3 + 1024 ** 3 / 4), '3.25 GB')
})

t.test('colours only on a TTY, never with NO_COLOR', async t => {
  const tty = styleFor({ isTTY: true }, {})
  t.equal(tty.green('ok'), '\u001b[32mok\u001b[39m')
  t.equal(tty.bold('B'), '\u001b[1mB\u001b[22m')
  t.equal(styleFor({ isTTY: true }, { NO_COLOR: '1' }), PLAIN)
  t.equal(styleFor({ isTTY: true }, { NO_COLOR: '' }), PLAIN, 'set, even empty')
  t.equal(styleFor({ isTTY: false }, {}), PLAIN)
  t.equal(styleFor({}, {}), PLAIN)
  t.equal(PLAIN.red('x'), 'x')
})

t.test('boolean env vars', async t => {
  for (const off of ['', '0', 'false', 'FALSE', 'no', 'Off', 'n', 'F', ' no ']) t.equal(envFlag(off), false, JSON.stringify(off))
  for (const on of ['1', 'true', 'yes', 'on', 'y', 't', 'anything']) t.equal(envFlag(on), true, on)
  t.equal(envFlag(undefined), undefined)
})
