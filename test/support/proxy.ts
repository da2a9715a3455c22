import net from 'node:net'
import type { Teardown } from './temp-dir.js'

/**
 * A loopback TCP proxy in front of a server, to break or stall connections on purpose
 * while the server keeps running.
 */
export interface Proxy {
  port: number
  address: string
  /** connections passed through so far */
  readonly accepted: number
  /** destroys every connection through it; new ones are still accepted */
  cut: () => void
  /** stops passing on what the server sends (the server's writes back up), until release() */
  hold: () => void
  release: () => void
  /** holds what flows either way (as if the client were stopped with SIGSTOP), until resume() */
  pause: () => void
  resume: () => void
  /** destroys new connections at once (the server looks gone to a reconnecting client), until accept() */
  refuse: () => void
  accept: () => void
  /** stops listening and cuts every connection */
  close: () => Promise<void>
}

export async function startProxy (t: Teardown, targetPort: number): Promise<Proxy> {
  const pairs = new Set<net.Socket>()
  /** the server side of each connection, with the client side it feeds */
  const fromServer = new Map<net.Socket, net.Socket>()
  /** every direction of every connection: source → destination */
  const links = new Map<net.Socket, net.Socket>()
  let accepted = 0
  let held = false
  let paused = false
  let refusing = false
  const flowing = (source: net.Socket): boolean => !paused && !(held && fromServer.has(source))
  const server = net.createServer((inbound) => {
    if (refusing) {
      inbound.destroy()
      return
    }
    accepted++
    const outbound = net.connect({ host: '127.0.0.1', port: targetPort })
    fromServer.set(outbound, inbound)
    outbound.on('close', () => fromServer.delete(outbound))
    for (const [a, b] of [[inbound, outbound], [outbound, inbound]]) {
      pairs.add(a)
      a.on('error', () => {})
      a.on('close', () => {
        pairs.delete(a)
        links.delete(a)
        b.destroy()
      })
      links.set(a, b)
      if (flowing(a)) a.pipe(b)
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const cut = (): void => {
    for (const socket of pairs) socket.destroy()
  }
  const close = (): Promise<void> => new Promise(resolve => {
    cut()
    if (!server.listening) return resolve()
    server.close(() => resolve())
  })
  const hold = (): void => {
    held = true
    for (const [outbound, inbound] of fromServer) {
      outbound.unpipe(inbound)
      outbound.pause()
    }
  }
  const release = (): void => {
    held = false
    if (!paused) for (const [outbound, inbound] of fromServer) outbound.pipe(inbound)
  }
  const pause = (): void => {
    paused = true
    for (const [source, destination] of links) {
      source.unpipe(destination)
      source.pause()
    }
  }
  const resume = (): void => {
    paused = false
    for (const [source, destination] of links) if (flowing(source)) source.pipe(destination)
  }
  t.teardown(close)
  return {
    port,
    address: `127.0.0.1:${port}`,
    get accepted () { return accepted },
    cut,
    hold,
    release,
    pause,
    resume,
    refuse: () => { refusing = true },
    accept: () => { refusing = false },
    close,
  }
}
