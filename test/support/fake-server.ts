import net from 'node:net'
import { createMessageDecoder, encodeMessage, parseMessage } from '../../protocol/codec.js'
import type { JsonObject } from '../../protocol/entries.js'
import type { Teardown } from './temp-dir.js'

/**
 * A loopback server speaking just enough RCP to put a client in situations a correct
 * server never creates: `answer` returns the messages to send back (raw Buffers are sent
 * as they are, 'close' ends the connection there), or 'close' to drop the connection at once.
 * Resolves with its `host:port`.
 */
export async function startFakeServer (t: Teardown, answer: (request: JsonObject) => Array<JsonObject | Buffer | 'close'> | 'close'): Promise<string> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const decoder = createMessageDecoder()
    socket.on('data', (chunk) => {
      decoder.push(chunk, (mode, payload) => {
        const reply = answer(parseMessage(payload))
        if (reply === 'close') {
          socket.destroy()
          return
        }
        for (const message of reply) {
          if (message === 'close') socket.end()
          else socket.write(Buffer.isBuffer(message) ? message : encodeMessage(message, mode))
        }
      })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy()
    server.close(() => resolve())
  }))
  const { port } = server.address() as net.AddressInfo
  return `127.0.0.1:${port}`
}

export const ok = (request: JsonObject, result: JsonObject): JsonObject =>
  ({ type: 'response', id: request.id, status: 'ok', result })
