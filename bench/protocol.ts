import { createMessageDecoder, encodeMessage } from '../protocol/codec.js'
import { encodeFrame } from '../protocol/frame.js'
import { validateEnvelope, validateParams } from '../protocol/schemas.js'

/**
 * Protocol hot paths: `npm run build && node dist/bench/protocol.js`.
 * Prints a table, then the figures as one JSON line (the last line).
 */

const CHUNK = 64 * 1024
const results: Array<Record<string, number | string>> = []

function rate (name: string, unit: 'calls_per_sec' | 'mb_per_sec', row: Record<string, number | string>, work: number, fn: () => void, rounds: number): void {
  fn() // warm up
  const start = process.hrtime.bigint()
  for (let i = 0; i < rounds; i++) fn()
  const secs = Number(process.hrtime.bigint() - start) / 1e9
  const value = Math.round(work * rounds / secs)
  console.log(`${name.padEnd(46)} ${String(value).padStart(12)} ${unit === 'calls_per_sec' ? 'calls/s' : 'MB/s'}`)
  results.push({ ...row, [unit]: value })
}

const apply = { instance_id: 'order-000123', event: 'PAY', payload: { amount: 99.99, note: 'x' }, expected_state: 'pending', idempotency_key: 'k-123' }
rate('validateParams APPLY_EVENT', 'calls_per_sec', { name: 'validate_params', op: 'APPLY_EVENT', payload: 'object' }, 100_000, () => {
  for (let i = 0; i < 100_000; i++) validateParams('APPLY_EVENT', apply)
}, 20)

const applyNull = { instance_id: 'order-000123', event: 'PAY', payload: null }
rate('validateParams APPLY_EVENT (null payload: copy)', 'calls_per_sec', { name: 'validate_params', op: 'APPLY_EVENT', payload: 'null' }, 100_000, () => {
  for (let i = 0; i < 100_000; i++) validateParams('APPLY_EVENT', applyNull)
}, 20)

const envelope = { type: 'request', id: '12345', op: 'APPLY_EVENT', params: apply }
rate('validateEnvelope', 'calls_per_sec', { name: 'validate_envelope' }, 100_000, () => {
  for (let i = 0; i < 100_000; i++) validateEnvelope(envelope)
}, 20)

const MB = 1e6
function chunked (data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = []
  for (let pos = 0; pos < data.length; pos += size) out.push(data.subarray(pos, pos + size))
  return out
}
function decodeAll (chunks: Buffer[]): void {
  const decoder = createMessageDecoder()
  let n = 0
  for (const c of chunks) decoder.push(c, () => { n++ })
  if (n === 0) throw new Error('nothing decoded')
}

const small = encodeMessage(envelope, 'binary')
const smallStream = Buffer.concat(Array(20_000).fill(small))
const smallChunks = chunked(smallStream, CHUNK)
rate(`decode ${small.length}-byte frames, 64 KiB chunks`, 'mb_per_sec', { name: 'decode', format: 'binary', message_bytes: small.length },
  smallStream.length / MB, () => decodeAll(smallChunks), 20)

const line = encodeMessage(envelope, 'jsonl')
const lineStream = Buffer.concat(Array(20_000).fill(line))
const lineChunks = chunked(lineStream, CHUNK)
rate(`decode ${line.length}-byte JSONL lines, 64 KiB chunks`, 'mb_per_sec', { name: 'decode', format: 'jsonl', message_bytes: line.length },
  lineStream.length / MB, () => decodeAll(lineChunks), 20)

const big = encodeFrame(Buffer.alloc(16 * 1024 * 1024, 0x61))
const bigChunks = chunked(big, CHUNK)
rate('decode one 16 MiB frame (CRC), 64 KiB chunks', 'mb_per_sec', { name: 'decode', format: 'binary', message_bytes: big.length },
  big.length / MB, () => decodeAll(bigChunks), 10)

console.log(JSON.stringify({ chunk_bytes: CHUNK, results }))
