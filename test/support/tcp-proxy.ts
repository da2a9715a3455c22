import net from 'node:net'

/**
 * A loopback TCP proxy in front of one server, for tests that must delay a client's
 * traffic without touching its process: while paused, bytes in both directions are
 * held (the sockets stay open) and delivered in order on resume, as they would be
 * after a SIGSTOP/SIGCONT of the client.
 */
export interface TcpProxy {
  readonly port: number
  readonly url: string
  pause: () => void
  resume: () => void
  close: () => Promise<void>
}

/** `port` 0 takes a free one; a given port lets a client find the proxy again after it was closed. */
export async function startTcpProxy (targetPort: number, port = 0, scheme = 'nats'): Promise<TcpProxy> {
  let paused = false
  // bytes read while paused, in arrival order, with the socket they are for
  let held: Array<{ to: net.Socket, chunk: Buffer }> = []
  const sockets = new Set<net.Socket>()
  const forward = (from: net.Socket, to: net.Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (paused) held.push({ to, chunk })
      else to.write(chunk)
    })
  }
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    sockets.add(client)
    sockets.add(upstream)
    forward(client, upstream)
    forward(upstream, client)
    const end = (): void => {
      sockets.delete(client)
      sockets.delete(upstream)
      client.destroy()
      upstream.destroy()
    }
    for (const s of [client, upstream]) {
      s.on('error', end)
      s.on('close', end)
    }
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const listening = (server.address() as net.AddressInfo).port
  return {
    port: listening,
    url: `${scheme}://127.0.0.1:${listening}`,
    pause () { paused = true },
    resume () {
      paused = false
      const flush = held
      held = []
      for (const { to, chunk } of flush) if (!to.destroyed) to.write(chunk)
    },
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
