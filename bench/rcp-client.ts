import net from 'node:net'
import { createMessageDecoder, encodeMessage } from '../protocol/codec.js'
import type { Address } from '../protocol/address.js'

/** One RCP connection of the load tools: pipelined requests matched by id, events and end notices to a callback. */
export interface RcpConnection {
  request: (op: string, params?: object) => Promise<any>
  /** `event` and `subscription_end` messages, in arrival order */
  onStream: (handler: (message: any) => void) => void
  /** destroys the socket: outstanding requests reject */
  close: () => void
  closed: Promise<void>
}

export async function connectRcp (address: Address, token: string | null, clientName = 'rstmdb-bench'): Promise<RcpConnection> {
  const socket = net.connect({ host: address.host, port: address.port })
  socket.setNoDelay(true)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const waiting = new Map<string, { resolve: (m: any) => void, reject: (e: Error) => void }>()
  let stream: (message: any) => void = () => {}
  const decoder = createMessageDecoder()
  const closed = new Promise<void>(resolve => socket.once('close', () => {
    for (const w of waiting.values()) w.reject(new Error('connection closed'))
    waiting.clear()
    resolve()
  }))
  socket.on('error', () => {})
  socket.on('data', chunk => {
    const fault = decoder.push(chunk, (_mode, payload) => {
      const message = JSON.parse(payload.toString('utf8'))
      if (message.type === 'response') {
        const w = waiting.get(message.id)
        waiting.delete(message.id)
        w?.resolve(message)
      } else {
        stream(message)
      }
    })
    if (fault !== null) socket.destroy(new Error(`undecodable server output: ${fault}`))
  })
  let next = 0
  const request = (op: string, params: object = {}): Promise<any> => new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('connection closed'))
    const id = String(++next)
    waiting.set(id, { resolve, reject })
    socket.write(encodeMessage({ type: 'request', id, op, params }, 'binary'))
  })
  const hello = await request('HELLO', { protocol_version: 1, client_name: clientName, wire_modes: ['binary_json'] })
  if (hello.status !== 'ok') throw new Error(`HELLO failed: ${JSON.stringify(hello.error)}`)
  if (token !== null) {
    const auth = await request('AUTH', { method: 'bearer', token })
    if (auth.status !== 'ok') throw new Error(`AUTH failed: ${JSON.stringify(auth.error)}`)
  }
  return {
    request,
    onStream: handler => { stream = handler },
    close: () => socket.destroy(),
    closed,
  }
}
