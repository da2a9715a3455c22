import t from 'tap'
import { compileGuard, jsonEqual, truthy } from '../../src/engine/guards.js'
import { MAX_GUARD_DEPTH } from '../../src/engine/limits.js'
import { harness, prng } from './helpers.js'

function run (guard: string, ctx: unknown): boolean {
  const g = compileGuard(guard)
  if (!g.ok) throw new Error(`rejected ${guard}: ${g.reason}`)
  return g.fn(ctx)
}

const CTX = {
  n: 5,
  z: 0,
  f: 1.5,
  s: 'abc',
  e: '',
  t: true,
  no: false,
  nil: null,
  arr: [1, 'two', { three: 3 }],
  empty: [],
  obj: { length: 7, deep: { x: 1 } },
  eobj: {},
  'we ird': 1,
}

t.test('accepted operators and their §8.4 semantics', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['ctx.n > 4', true], ['ctx.n > 5', false], ['ctx.n >= 5', true], ['ctx.n < 6', true], ['ctx.n <= 4', false],
    ['ctx.n == 5', true], ['ctx.n != 5', false], ['ctx.n == "5"', false], ['ctx.n != "5"', true],
    ['ctx.missing != "x"', true], ['ctx.missing == null', true], ['ctx.nil == null', true], ['null == null', true],
    ['ctx.t && ctx.n', true], ['ctx.t && ctx.z', false], ['ctx.no || ctx.s', true], ['ctx.no || ctx.e', false],
    ['!ctx.no', true], ['!ctx.s', false], ['!!ctx.arr', true], ['!ctx.empty', true], ['!ctx.eobj', true], ['!ctx.obj', false],
    ['ctx.s < "abd"', true], ['ctx.s > "ab"', true], ['"B" < "a"', true], ['ctx.s < 1', false], ['ctx.nil < 1', false], ['ctx.nil >= 0', false],
    ['ctx.arr == [1, "two", {"three": 3}]'.replace(/\[.*\]$/, '1'), false],
    ['ctx.obj.deep == ctx.obj.deep', true], ['ctx.arr[2] == ctx.arr[2]', true], ['ctx.arr == ctx.empty', false], ['ctx.eobj == ctx.empty', false],
    ['(1 == 1) == true', true], ['true', true], ['false', false], ['null', false], ['0', false], ['""', false], ['"x"', true],
  ]
  for (const [guard, expected] of cases) t.equal(run(guard, CTX), expected, guard)
})

t.test('extensions: arithmetic, unary minus, index and key access, length', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['ctx.n + 1 == 6', true], ['ctx.n - 6 == -1', true], ['ctx.n * 2 == 10', true], ['ctx.n / 2 == 2.5', true], ['ctx.n % 2 == 1', true],
    ['-ctx.n == -5', true], ['- -ctx.n == 5', true], ['1 + 2 * 3 == 7', true], ['(1 + 2) * 3 == 9', true],
    ['ctx.n / 0 == null', true], ['ctx.z / 0 == null', true], ['ctx.s + 1 == null', true], ['-ctx.s == null', true], ['ctx.nil * 1 == null', true],
    ['1e3 == 1000', true], ['.5 == 0.5', true], ['1.5 == ctx.f', true],
    ['ctx.arr[0] == 1', true], ['ctx.arr[1] == "two"', true], ['ctx.arr[2].three == 3', true], ['ctx.arr[3] == null', true],
    ['ctx["s"] == "abc"', true], ["ctx['we ird'] == 1", true], ['ctx.obj["deep"]["x"] == 1', true],
    ['ctx.arr.length == 3', true], ['ctx.s.length == 3', true], ['ctx.e.length == 0', true], ['ctx.obj.length == 7', true], ['ctx.eobj.length == null', true],
    ['ctx.arr["length"] == 3', true], ['ctx.arr["0"] == null', true], ['ctx.obj[0] == null', true], ['ctx.s[0] == null', true],
    ['ctx.n.x == null', true], ['ctx.nil.x == null', true], ['ctx.t.x == null', true], ['ctx.missing.a.b.c == null', true],
    ['ctx.toString == null', true], ['ctx.constructor == null', true], ['ctx.__proto__ == null', true],
    ['ctx == ctx', true], ['ctx', true],
  ]
  for (const [guard, expected] of cases) t.equal(run(guard, CTX), expected, guard)
  t.equal(run('ctx', {}), false, 'an empty ctx is falsy')
  t.equal(run('ctx.__proto__.a == 1', JSON.parse('{"__proto__":{"a":1}}')), true, 'a "__proto__" key is an ordinary key')
})

t.test('truthy and jsonEqual', async (t) => {
  for (const v of [null, false, 0, -0, NaN, '', [], {}]) t.equal(truthy(v), false, JSON.stringify(v))
  for (const v of [true, 1, -1, 'a', [0], { a: null }]) t.equal(truthy(v), true, JSON.stringify(v))
  t.equal(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }, 0), true)
  t.equal(jsonEqual({ a: 1 }, { b: 1 }, 0), false)
  t.equal(jsonEqual({ a: 1 }, { a: 1, b: 2 }, 0), false)
  t.equal(jsonEqual([1], { 0: 1 }, 0), false)
  t.equal(jsonEqual(NaN, NaN, 0), false)
  t.equal(jsonEqual(0, -0, 0), true)
})

const rejections: Array<[string, string, number]> = [
  ['foo(1)', 'function calls are not allowed', 0],
  ['ctx.a.b()', 'function calls are not allowed', 0],
  ['this', '"this" is not allowed', 0],
  ['  this.a', '"this" is not allowed', 2],
  ['foo', 'unknown identifier "foo"', 0],
  ['ctx.a && bar', 'unknown identifier "bar"', 9],
  ['ctx.a ctx.b', 'multiple expressions are not allowed', 0],
  ['ctx.a; ctx.b', 'multiple expressions are not allowed', 0],
  ['(ctx.a, ctx.b)', 'sequence expressions are not allowed', 0],
  ['ctx.a ? 1 : 2', 'conditional expressions are not allowed', 0],
  ['[1, 2]', 'array literals are not allowed', 0],
  ['ctx.a == [1]', 'array literals are not allowed', 9],
  ['ctx?.a', 'optional chaining is not allowed', 0],
  ['ctx[ctx.a]', 'computed member key must be a non-negative integer or a string literal', 0],
  ['ctx[1.5]', 'computed member key must be a non-negative integer or a string literal', 0],
  ['ctx[-1]', 'computed member key must be a non-negative integer or a string literal', 0],
  ['ctx[true]', 'computed member key must be a non-negative integer or a string literal', 0],
  ['"abc".length', 'member access is only allowed on ctx paths', 0],
  ['1 + (2).x', 'member access is only allowed on ctx paths', 5],
  ['ctx.a === 1', 'operator "===" is not allowed', 0],
  ['ctx.a !== 1', 'operator "!==" is not allowed', 0],
  ['ctx.a ?? 1', 'operator "??" is not allowed', 0],
  ['ctx.a ** 2', 'operator "**" is not allowed', 0],
  ['1 == ctx.a & 1', 'operator "&" is not allowed', 0],
  ['ctx.a | 1', 'operator "|" is not allowed', 0],
  ['ctx.a ^ 1', 'operator "^" is not allowed', 0],
  ['ctx.a << 1', 'operator "<<" is not allowed', 0],
  ['ctx.a >> 1', 'operator ">>" is not allowed', 0],
  ['ctx.a >>> 1', 'operator ">>>" is not allowed', 0],
  ['~ctx.a', 'unary operator "~" is not allowed', 0],
  ['ctx.a && +ctx.b', 'unary operator "+" is not allowed', 9],
  ['', 'empty guard', 0],
  ['   ', 'empty guard', 0],
  ['ctx.a =', 'Unexpected "="', 6],
  ['ctx.a == "x', 'Unclosed quote after "x"', 11],
  ['(ctx.a', 'Unclosed (', 6],
]

t.test('§8.2 rejections with reason and position', async (t) => {
  for (const [guard, reason, position] of rejections) {
    const g = compileGuard(guard)
    t.same(g, { ok: false, reason, position }, JSON.stringify(guard))
  }
})

t.test('§8.3 error of a PUT_MACHINE', async (t) => {
  const h = harness()
  const guard = 'ctx.n > 1 && ctx["a"] === "b"'
  const err = h.fail('PUT_MACHINE', {
    machine: 'm', version: 1, definition: { states: ['a'], initial: 'a', transitions: [{ from: 'a', event: 'E', to: 'a', guard }] },
  })
  t.equal(err.code, 'BAD_REQUEST')
  t.equal(err.message, `invalid guard in transitions[0] "${guard}": operator "===" is not allowed at character 13`)
  t.same(err.details, {
    field: 'transitions[0].guard',
    transition_index: 0,
    guard,
    position: 13,
    reason: 'operator "===" is not allowed',
    errors: [{ field: 'transitions[0].guard', message: err.message, transition_index: 0, guard, position: 13, reason: 'operator "===" is not allowed' }],
  })
})

t.test('length and depth bounds', async (t) => {
  t.same(compileGuard('ctx.a == 1 || '.repeat(300) + 'true'), { ok: false, reason: 'guard exceeds 4096 characters', position: 4096 })
  t.equal(compileGuard(`ctx.a == "${'x'.repeat(4084)}"`).ok, true, 'exactly 4096 characters is fine')
  const parens = '('.repeat(MAX_GUARD_DEPTH + 1) + '1' + ')'.repeat(MAX_GUARD_DEPTH + 1)
  t.same(compileGuard(parens), { ok: false, reason: `guard nests deeper than ${MAX_GUARD_DEPTH} levels`, position: MAX_GUARD_DEPTH })
  t.equal(compileGuard('"(((((((((((("' + ' == ctx.a').ok, true, 'brackets in strings do not count')
  const bangs = compileGuard('!'.repeat(2000) + 'ctx.a')
  t.equal(bangs.ok, false, 'a long unary chain is refused')
  t.match(bangs, { reason: `guard nests deeper than ${MAX_GUARD_DEPTH} levels` })
  const chain = compileGuard(Array.from({ length: 300 }, (_, i) => `ctx.a${i}`).join(' && '))
  t.match(chain, { ok: false, reason: `guard nests deeper than ${MAX_GUARD_DEPTH} levels` })
  t.equal(compileGuard(Array.from({ length: 200 }, (_, i) => `ctx.a${i}`).join(' || ')).ok, true, '200-term chains are fine')
  t.equal(compileGuard('ctx' + '[0]'.repeat(1000)).ok, false, 'deep paths are bounded too')
})

t.test('guards are tried in definition order; GUARD_FAILED lists them (§8.5)', async (t) => {
  const h = harness()
  h.write('PUT_MACHINE', {
    machine: 'm',
    version: 1,
    definition: {
      states: ['a', 'big', 'small', 'other'],
      initial: 'a',
      transitions: [
        { from: 'a', event: 'GO', to: 'big', guard: 'ctx.n > 10' },
        { from: 'a', event: 'GO', to: 'small', guard: 'ctx.n > 0' },
        { from: 'big', event: 'GO', to: 'other', guard: 'ctx.never' },
        { from: 'big', event: 'GO', to: 'other' },
      ],
    },
  })
  h.write('CREATE_INSTANCE', { machine: 'm', version: 1, instance_id: 'x', initial_ctx: { n: 5 } })
  h.write('CREATE_INSTANCE', { machine: 'm', version: 1, instance_id: 'y', initial_ctx: { n: 50 } })
  h.write('CREATE_INSTANCE', { machine: 'm', version: 1, instance_id: 'z', initial_ctx: { n: -1 } })
  t.equal(h.write('APPLY_EVENT', { instance_id: 'x', event: 'GO' }).result.to_state, 'small')
  t.equal(h.write('APPLY_EVENT', { instance_id: 'y', event: 'GO' }).result.to_state, 'big')
  t.equal(h.write('APPLY_EVENT', { instance_id: 'y', event: 'GO' }).result.to_state, 'other', 'an unguarded candidate passes')
  const err = h.fail('APPLY_EVENT', { instance_id: 'z', event: 'GO', payload: { n: 100 } })
  t.equal(err.code, 'GUARD_FAILED', 'guards see the ctx before the payload is merged')
  t.same(err.details, { instance_id: 'z', current_state: 'a', event: 'GO', guards: ['ctx.n > 10', 'ctx.n > 0'] })
})

// random guards over random ctx values: compile never throws, evaluation never throws and returns a boolean
t.test('property: random guards and ctx values never throw', async (t) => {
  const rnd = prng(20240601)
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]
  const keys = ['a', 'b', 'length', 'x', '0', '__proto__', 'constructor']
  const value = (d: number): unknown => {
    const k = rnd()
    if (d > 3 || k < 0.35) return pick([null, true, false, 0, -1, 1.5, 1e308, '', 'a', 'abc', NaN])
    if (k < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(d + 1))
    const o: Record<string, unknown> = {}
    for (let i = Math.floor(rnd() * 4); i > 0; i--) Object.defineProperty(o, pick(keys), { value: value(d + 1), enumerable: true, configurable: true, writable: true })
    return o
  }
  const path = (): string => 'ctx' + Array.from({ length: Math.floor(rnd() * 4) }, () => pick([`.${pick(['a', 'b', 'length', 'x'])}`, `[${Math.floor(rnd() * 3)}]`, `["${pick(keys)}"]`])).join('')
  const expr = (d: number): string => {
    const k = rnd()
    if (d > 3 || k < 0.3) return pick([path(), path(), '1', '0', '"a"', 'null', 'true', '1e3', '.5'])
    if (k < 0.45) return `${pick(['!', '-'])}${expr(d + 1)}`
    if (k < 0.55) return `(${expr(d + 1)})`
    return `${expr(d + 1)} ${pick(['||', '&&', '==', '!=', '<', '<=', '>', '>=', '+', '-', '*', '/', '%', '===', '??', '&'])} ${expr(d + 1)}`
  }
  let compiled = 0
  let rejected = 0
  for (let i = 0; i < 2000; i++) {
    const g = compileGuard(expr(0))
    if (!g.ok) {
      rejected++
      continue
    }
    compiled++
    for (let j = 0; j < 5; j++) {
      const r = g.fn(value(0))
      if (typeof r !== 'boolean') t.fail('non-boolean guard result')
    }
  }
  t.ok(compiled > 500, `${compiled} compiled`)
  t.ok(rejected > 100, `${rejected} rejected`)
  for (let i = 0; i < 500; i++) {
    const src = Array.from({ length: Math.floor(rnd() * 20) }, () => pick(['ctx', '.', '[', ']', '(', ')', '"', "'", '1', '!', '-', '&&', '?', ':', ',', ' ', 'a', '\\'])).join('')
    const g = compileGuard(src)
    if (g.ok) g.fn(value(0))
    else t.equal(typeof g.position, 'number')
  }
})
