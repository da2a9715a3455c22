import t from 'tap'
import { readFileSync } from 'node:fs'
import { clientFor } from '../support/client.js'
import { rawConnect, rawFrame } from '../support/raw-client.js'
import { ERROR_CODES } from '../../protocol/errors.js'
import { startServer } from '../support/server.js'
import { sleep, within } from './helpers.js'
import { prng } from '../support/prng.js'

const TOTAL = 24_000
const CONNECTIONS = 6
const SEED = 0x5eed1234

const OPS = ['HELLO', 'AUTH', 'PING', 'INFO', 'PUT_MACHINE', 'GET_MACHINE', 'LIST_MACHINES', 'CREATE_INSTANCE', 'GET_INSTANCE', 'LIST_INSTANCES',
  'DELETE_INSTANCE', 'APPLY_EVENT', 'BATCH', 'WATCH_INSTANCE', 'WATCH_ALL', 'UNWATCH', 'SNAPSHOT_INSTANCE', 'WAL_READ', 'WAL_STATS', 'VALIDATE_MACHINE', 'NOPE', 'ping']
const KEYS = ['machine', 'version', 'instance_id', 'event', 'payload', 'definition', 'from_offset', 'limit', 'ops', 'mode', 'protocol_version',
  'wire_modes', 'initial_ctx', 'expected_state', 'expected_wal_offset', 'idempotency_key', 'subscription_id', 'include_ctx', 'machines', 'token', 'method']
const DEF = { states: ['a', 'b'], initial: 'a', transitions: [{ from: 'a', event: 'GO', to: 'b', guard: 'ctx.n > 1' }, { from: 'b', event: 'GO', to: 'a' }] }

function generator (rand: () => number): { wellFramed: () => Buffer, damaged: () => Buffer, chance: () => number } {
  const int = (n: number): number => Math.floor(rand() * n)
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]
  function value (depth = 0): unknown {
    switch (int(depth > 2 ? 6 : 9)) {
      case 0: return int(5)
      case 1: return pick(['a', 'b', 'm', 'i-1', 'GO', '', 'x'.repeat(int(300))])
      case 2: return rand() < 0.5
      case 3: return null
      case 4: return pick([-1, 1.5, 2 ** 53, 1e308, 0])
      case 5: return pick(['binary_json', 'jsonl', 'bearer'])
      case 6: return Array.from({ length: int(4) }, () => value(depth + 1))
      case 7: return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(KEYS), value(depth + 1)]))
      default: return DEF
    }
  }
  function request (): Record<string, unknown> {
    const params: Record<string, unknown> = {}
    for (let i = int(5); i > 0; i--) params[pick(KEYS)] = value()
    if (rand() < 0.3) Object.assign(params, { machine: 'm', version: 1, instance_id: `i-${int(20)}`, event: 'GO', protocol_version: 1 })
    const message: Record<string, unknown> = { id: rand() < 0.95 ? String(int(1e6)) : value(), op: pick(OPS), params: rand() < 0.9 ? params : value() }
    if (rand() < 0.1) message.type = pick(['request', 'response', 1])
    if (rand() < 0.1) message.trace_id = value()
    return message
  }
  function mutate (bytes: Buffer): Buffer {
    const out = Buffer.from(bytes)
    for (let i = int(4) + 1; i > 0; i--) {
      const at = int(out.length)
      switch (int(3)) {
        case 0: out[at] = int(256); break
        case 1: out[at] ^= 1 << int(8); break
        default: return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + int(8))])
      }
    }
    return out
  }
  /** framing intact, content random: the connection should survive these */
  function wellFramed (): Buffer {
    const text = JSON.stringify(request())
    switch (int(8)) {
      case 0: case 1: case 2: return rawFrame(text, { flags: rand() < 0.2 ? 0 : 1 | (rand() < 0.1 ? 0x0c : 0) })
      case 3: case 4: case 5: return Buffer.from(text + (rand() < 0.2 ? '\r\n' : '\n'))
      case 6: return rawFrame(mutate(Buffer.from(text)))
      // any JSON value in a frame; a line must start with { (anything else closes: §2.3)
      default: return rawFrame(JSON.stringify(value()) ?? '')
    }
  }
  /** framing damaged: usually closes the connection */
  function damaged (): Buffer {
    switch (int(4)) {
      case 0: return mutate(rawFrame(JSON.stringify(request())))
      case 1: return mutate(Buffer.from(JSON.stringify(request()) + '\n'))
      case 2: return Buffer.from(`${JSON.stringify(value()) ?? ''}\n`)
      default: return Buffer.from(Array.from({ length: int(40) }, () => pick([0x52, 0x7b, 0x0a, 0x20, int(256)])))
    }
  }
  return { wellFramed, damaged, chance: rand }
}

/** Every message the server wrote on a fuzz connection: it must always be well formed. */
function serverMessages (bytes: Buffer): any[] {
  const out = []
  let pos = 0
  while (pos < bytes.length) {
    if (bytes[pos] === 0x52) {
      if (pos + 18 > bytes.length) break
      const len = bytes.readUInt32BE(pos + 10)
      if (pos + 18 + len > bytes.length) break
      out.push(JSON.parse(bytes.toString('utf8', pos + 18, pos + 18 + len)))
      pos += 18 + len
    } else {
      const nl = bytes.indexOf(0x0a, pos)
      if (nl < 0) break
      out.push(JSON.parse(bytes.toString('utf8', pos, nl)))
      pos = nl + 1
    }
  }
  return out
}

function rssMb (pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith('VmRSS:')) ?? ''
  return Number(line.replace(/\D+/g, '')) / 1024
}

t.test(`${TOTAL} random and mutated frames and lines from ${CONNECTIONS} connections`, async t => {
  const server = await startServer(t, { env: { RSTMDB_FSYNC_POLICY: 'never' } })
  const setup = await clientFor(t, server)
  await setup.putMachine({ machine: 'm', version: 1, definition: DEF })
  const pid = server.child.pid as number
  const rssBefore = rssMb(pid)
  let sent = 0
  let connections = 0
  const codes = new Set<string>()
  let messages = 0

  async function worker (index: number): Promise<void> {
    const rand = prng(SEED + index)
    const gen = generator(rand)
    while (sent < TOTAL) {
      const raw = await rawConnect(server.rcpPort)
      connections++
      if (rand() < 0.7) raw.socket.write(rawFrame(JSON.stringify({ id: 'h', op: 'HELLO', params: { protocol_version: 1, wire_modes: [rand() < 0.5 ? 'jsonl' : 'binary_json'] } })))
      // a connection lives for a few batches, or until the server closes it
      for (let batch = Math.floor(rand() * 6) + 1; batch > 0 && sent < TOTAL && !raw.socket.destroyed; batch--) {
        const items = Array.from({ length: 40 }, gen.wellFramed)
        // a damaged one now and then, last in its batch, so most input reaches the request path
        if (gen.chance() < 0.3) items.push(gen.damaged())
        sent += items.length
        raw.socket.write(Buffer.concat(items))
        if (await within(raw.closed, 10)) break
      }
      await within(raw.closed, 50)
      raw.socket.destroy()
      for (const m of serverMessages(raw.received())) {
        messages++
        if (m.type === 'response' && m.status === 'error') codes.add(m.error.code)
      }
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => worker(i)))
  await sleep(200)

  t.ok(sent >= 20_000, `${sent} frames and lines sent over ${connections} connections; ${messages} server messages parsed`)
  t.equal(server.child.exitCode, null, 'the server is still up')
  t.ok([...codes].every(c => (ERROR_CODES as readonly string[]).includes(c)), `only §11 codes: ${[...codes].join(', ')}`)
  const rss = rssMb(pid)
  t.ok(rss < 300, `server RSS ${rssBefore.toFixed(0)} MB → ${rss.toFixed(0)} MB`)

  const c = await clientFor(t, server, { wireMode: 'jsonl' })
  t.same(await c.ping(), { pong: true })
  const created = await c.createInstance({ machine: 'm', version: 1, instance_id: 'after-fuzz', initial_ctx: { n: 2 } })
  t.equal(created.state, 'a')
  const applied = await c.applyEvent({ instance_id: 'after-fuzz', event: 'GO', payload: { n: 0 } })
  t.match(applied, { from_state: 'a', to_state: 'b', ctx: { n: 0 }, applied: true })
  t.match(await c.getInstance({ instance_id: 'after-fuzz' }), { state: 'b', last_wal_offset: applied.wal_offset })
  const read = await c.walRead({ from_offset: applied.wal_offset })
  t.equal((read.records[0].entry as Record<string, unknown>).instance_id, 'after-fuzz')
})
