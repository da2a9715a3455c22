import jsep from 'jsep'
import { MAX_GUARD_DEPTH, MAX_GUARD_LENGTH } from './limits.js'

/**
 * Guard expressions (rcp.md §8): parsed with jsep's default configuration, checked
 * against the accepted subset, compiled once into closures and evaluated totally.
 */

export type GuardFn = (ctx: unknown) => boolean

export type GuardResult =
  | { ok: true, fn: GuardFn }
  | { ok: false, reason: string, position: number }

type Node = jsep.Expression
type Value = unknown
type Eval = (ctx: Value) => Value

const ALLOWED_BINARY = new Set(['||', '&&', '==', '!=', '<', '<=', '>', '>=', '+', '-', '*', '/', '%'])
const ALLOWED_UNARY = new Set(['!', '-'])

// Token start positions. jsep nodes carry none, so a hook notes where each token starts
// and annotates the node when the token ends; parsing is synchronous, one guard at a time.
const tokenStarts: number[] = []
let starts = new WeakMap<Node, number>()

jsep.hooks.add('gobble-token', function (this: jsep.HookScope, env: { node?: Node }) {
  tokenStarts.push(this.index)
  // jsep returns numeric literals without running after-token; parsing them here is
  // identical and keeps the start stack balanced
  const code = this.code
  if ((code >= 48 && code <= 57) || code === 46) env.node = this.gobbleNumericLiteral()
})

jsep.hooks.add('after-token', function (env: { node?: Node }) {
  const start = tokenStarts.pop()
  if (start === undefined) return
  // the token may be a member/call chain: its root starts here too. A parenthesised
  // node keeps its own start, not the "(" position.
  let node: Node | undefined = env.node
  while (node && !starts.has(node)) {
    starts.set(node, start)
    node = node.type === 'MemberExpression' ? node.object as Node : node.type === 'CallExpression' ? node.callee as Node : undefined
  }
})

function position (node: Node): number {
  switch (node.type) {
    case 'BinaryExpression': return position(node.left as Node)
    case 'MemberExpression': return position(node.object as Node)
    case 'CallExpression': return position(node.callee as Node)
    case 'ConditionalExpression': return position(node.test as Node)
    case 'Compound': {
      const body = node.body as Node[]
      return body.length > 0 ? position(body[0]) : 0
    }
    default: return starts.get(node) ?? 0
  }
}

class Rejection {
  constructor (readonly reason: string, readonly position: number) {}
}

const reject = (reason: string, node: Node): never => {
  throw new Rejection(reason, position(node))
}

/** Deepest bracket nesting outside string literals, and where it first passes the limit. */
function bracketOverflow (source: string): number {
  let depth = 0
  let quote = 0
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i)
    if (quote !== 0) {
      if (c === 92) i++
      else if (c === quote) quote = 0
    } else if (c === 34 || c === 39) {
      quote = c
    } else if (c === 40 || c === 91) {
      if (++depth > MAX_GUARD_DEPTH) return i
    } else if (c === 41 || c === 93) {
      depth--
    }
  }
  return -1
}

function astDepthOverflow (root: Node): Node | undefined {
  const stack: Array<[Node, number]> = [[root, 1]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [Node, number]
    if (depth > MAX_GUARD_DEPTH) return node
    for (const key of ['left', 'right', 'argument', 'object', 'property', 'callee', 'test', 'consequent', 'alternate']) {
      const child = node[key] as Node | undefined
      if (child && typeof child === 'object' && typeof child.type === 'string') stack.push([child, depth + 1])
    }
    for (const key of ['body', 'expressions', 'arguments', 'elements']) {
      const list = node[key] as Array<Node | null> | undefined
      if (Array.isArray(list)) for (const child of list) if (child) stack.push([child, depth + 1])
    }
  }
  return undefined
}

/** Parses, checks and compiles a guard. Never throws. */
export function compileGuard (source: string): GuardResult {
  if (source.trim() === '') return { ok: false, reason: 'empty guard', position: 0 }
  if (source.length > MAX_GUARD_LENGTH) {
    return { ok: false, reason: `guard exceeds ${MAX_GUARD_LENGTH} characters`, position: MAX_GUARD_LENGTH }
  }
  const tooDeep = bracketOverflow(source)
  if (tooDeep >= 0) return { ok: false, reason: `guard nests deeper than ${MAX_GUARD_DEPTH} levels`, position: tooDeep }
  let ast: Node
  starts = new WeakMap()
  tokenStarts.length = 0
  try {
    ast = jsep(source)
  } catch (err) {
    const e = err as { index?: unknown, description?: unknown }
    if (typeof e.index === 'number' && typeof e.description === 'string') {
      return { ok: false, reason: e.description, position: e.index }
    }
    // a stack overflow inside jsep (unary chains): report it as nesting
    return { ok: false, reason: `guard nests deeper than ${MAX_GUARD_DEPTH} levels`, position: 0 }
  } finally {
    tokenStarts.length = 0
  }
  const deep = astDepthOverflow(ast)
  if (deep) return { ok: false, reason: `guard nests deeper than ${MAX_GUARD_DEPTH} levels`, position: position(deep) }
  try {
    const evaluate = compile(ast)
    return { ok: true, fn: (ctx) => truthy(evaluate(ctx)) }
  } catch (err) {
    if (err instanceof Rejection) return { ok: false, reason: err.reason, position: err.position }
    return { ok: false, reason: 'unsupported expression', position: 0 }
  }
}

function compile (node: Node): Eval {
  switch (node.type) {
    case 'Literal': return compileLiteral(node as jsep.Literal)
    case 'Identifier':
      if ((node as jsep.Identifier).name !== 'ctx') return reject(`unknown identifier "${(node as jsep.Identifier).name}"`, node)
      return (ctx) => ctx
    case 'MemberExpression': return compilePath(node as jsep.MemberExpression)
    case 'UnaryExpression': return compileUnary(node as jsep.UnaryExpression)
    case 'BinaryExpression': return compileBinary(node as jsep.BinaryExpression)
    case 'CallExpression': return reject('function calls are not allowed', node)
    case 'ThisExpression': return reject('"this" is not allowed', node)
    case 'Compound': return reject('multiple expressions are not allowed', node)
    case 'SequenceExpression': return reject('sequence expressions are not allowed', node)
    case 'ConditionalExpression': return reject('conditional expressions are not allowed', node)
    case 'ArrayExpression': return reject('array literals are not allowed', node)
    default: return reject(`${node.type} is not allowed`, node)
  }
}

function compileLiteral (node: jsep.Literal): Eval {
  const value = node.value
  if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
    return () => value
  }
  return reject('unsupported literal', node)
}

type Step = string | number

function compilePath (node: jsep.MemberExpression): Eval {
  const steps: Step[] = []
  let current: Node = node
  while (current.type === 'MemberExpression') {
    const member = current as jsep.MemberExpression
    if (member.optional) reject('optional chaining is not allowed', member)
    const property = member.property
    if (member.computed) {
      const key = property.type === 'Literal' ? (property as jsep.Literal).value : undefined
      if (typeof key === 'string') steps.push(key)
      else if (typeof key === 'number' && Number.isInteger(key) && key >= 0) steps.push(key)
      else reject('computed member key must be a non-negative integer or a string literal', member)
    } else {
      steps.push((property as jsep.Identifier).name)
    }
    current = member.object
  }
  if (current.type === 'Identifier' || current.type === 'CallExpression' || current.type === 'ThisExpression') {
    compile(current)
  } else {
    reject('member access is only allowed on ctx paths', node)
  }
  steps.reverse()
  return (ctx) => walk(ctx, steps)
}

function walk (root: Value, steps: Step[]): Value {
  let value = root
  for (let i = 0; i < steps.length; i++) {
    value = step(value, steps[i])
    if (value === null) return null
  }
  return value
}

function step (value: Value, key: Step): Value {
  if (typeof key === 'number') {
    return Array.isArray(value) && key < value.length ? value[key] : null
  }
  if (key === 'length' && (typeof value === 'string' || Array.isArray(value))) return value.length
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key)) {
    const v = (value as Record<string, unknown>)[key]
    return v === undefined ? null : v
  }
  return null
}

function compileUnary (node: jsep.UnaryExpression): Eval {
  if (!ALLOWED_UNARY.has(node.operator)) return reject(`unary operator "${node.operator}" is not allowed`, node)
  const arg = compile(node.argument)
  if (node.operator === '!') return (ctx) => !truthy(arg(ctx))
  return (ctx) => {
    const v = arg(ctx)
    return typeof v === 'number' ? finite(-v) : null
  }
}

function compileBinary (node: jsep.BinaryExpression): Eval {
  const op = node.operator
  if (!ALLOWED_BINARY.has(op)) return reject(`operator "${op}" is not allowed`, node)
  const l = compile(node.left)
  const r = compile(node.right)
  switch (op) {
    case '||': return (ctx) => truthy(l(ctx)) || truthy(r(ctx))
    case '&&': return (ctx) => truthy(l(ctx)) && truthy(r(ctx))
    case '==': return (ctx) => jsonEqual(l(ctx), r(ctx), 0)
    case '!=': return (ctx) => !jsonEqual(l(ctx), r(ctx), 0)
    case '<': return (ctx) => compare(l(ctx), r(ctx), (a, b) => a < b)
    case '<=': return (ctx) => compare(l(ctx), r(ctx), (a, b) => a <= b)
    case '>': return (ctx) => compare(l(ctx), r(ctx), (a, b) => a > b)
    case '>=': return (ctx) => compare(l(ctx), r(ctx), (a, b) => a >= b)
    case '+': return arithmetic(l, r, (a, b) => a + b)
    case '-': return arithmetic(l, r, (a, b) => a - b)
    case '*': return arithmetic(l, r, (a, b) => a * b)
    case '/': return arithmetic(l, r, (a, b) => a / b)
    default: return arithmetic(l, r, (a, b) => a % b)
  }
}

const finite = (n: number): number | null => Number.isFinite(n) ? n : null

function arithmetic (l: Eval, r: Eval, fn: (a: number, b: number) => number): Eval {
  return (ctx) => {
    const a = l(ctx)
    const b = r(ctx)
    return typeof a === 'number' && typeof b === 'number' ? finite(fn(a, b)) : null
  }
}

function compare (a: Value, b: Value, fn: (a: number | string, b: number | string) => boolean): boolean {
  if (typeof a === 'number' && typeof b === 'number') return fn(a, b)
  if (typeof a === 'string' && typeof b === 'string') return fn(a, b)
  return false
}

/** rcp.md §8.4 truthiness: null, false, 0, NaN, "", [] and {} are falsy. */
export function truthy (v: Value): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false
  if (typeof v === 'number') return !Number.isNaN(v)
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'object') return Object.keys(v).length > 0
  return true
}

// Deeper than any stored ctx (limits.MAX_JSON_DEPTH); past it values compare unequal instead of recursing on
const MAX_EQUAL_DEPTH = 256

/** Same JSON type and equal: numbers by IEEE value, strings by code units, containers structurally. */
export function jsonEqual (a: Value, b: Value, depth: number): boolean {
  if (typeof a === 'number' || typeof a === 'string' || typeof a === 'boolean') return a === b
  if (a === null || a === undefined) return b === null || b === undefined
  if (b === null || typeof b !== 'object' || depth >= MAX_EQUAL_DEPTH) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i], depth + 1)) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ao = a as Record<string, unknown>
  const bo = b as Record<string, unknown>
  const keys = Object.keys(ao)
  if (keys.length !== Object.keys(bo).length) return false
  for (const k of keys) {
    if (!Object.hasOwn(bo, k) || !jsonEqual(ao[k], bo[k], depth + 1)) return false
  }
  return true
}
