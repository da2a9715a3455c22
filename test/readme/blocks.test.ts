import t from 'tap'
import { commentStart, expectation, runnableBlocks, shellCommands } from './blocks.js'

// The extractor the README walkthrough relies on: a mistake here would run the wrong commands or none.

const README = [
  '# Title',
  '```sh',
  'curl $B/not-marked',
  '```',
  '```sh runnable',
  'B=http://127.0.0.1:8080',
  'curl -X POST $B/v1/x -d \'{"a":"# not a comment"}\'   # 201 created',
  '# {"sample":"output"}',
  '',
  'curl -i $B/v1/y \\',
  '     -H "If-Match: \\"2\\""   # 412 CONFLICT',
  'curl -N --max-time 2 "$B/v1/events#frag"   # exit 28: cut off',
  '```',
  '```js runnable',
  'console.log(1)',
  '```',
  '```',
  'not code',
  '```',
].join('\n')

t.test('only blocks marked runnable are taken, with their language and line', async t => {
  const blocks = runnableBlocks(README)
  t.same(blocks.map(b => [b.lang, b.line]), [['sh', 5], ['js', 14]])
  t.equal(blocks[1].code, 'console.log(1)')
})

t.test('a shell block splits into commands, continuations joined, sample output left out', async t => {
  const [sh] = runnableBlocks(README)
  t.same(shellCommands(sh).map(c => [c.line, c.expect]), [
    [6, { exit: 0, status: null }],
    [7, { exit: 0, status: 201 }],
    [10, { exit: 0, status: 412 }],
    [12, { exit: 28, status: null }],
  ])
  t.match(shellCommands(sh)[2].text, /^curl -i \$B\/v1\/y \\\n {5}-H/)
})

t.test('a comment starts only at a # after blank space and outside quotes', async t => {
  t.equal(commentStart('echo "a # b" \'c # d\' e#f'), -1)
  t.equal(commentStart('echo \\# x # y'), 10)
  t.equal(commentStart('# whole line'), 0)
})

t.test('a comment expects a status, an exit code, or nothing', async t => {
  t.same(expectation('# 404 INSTANCE_NOT_FOUND'), { exit: 0, status: 404 })
  t.same(expectation('# exit 124'), { exit: 124, status: null })
  t.same(expectation('# ETag: "7"'), { exit: 0, status: null })
  t.same(expectation('# 12345 is not a status'), { exit: 0, status: null })
})
