import { isIPv6 } from 'node:net'

/** An RCP/HTTP listen or connect address: `host:port` or `[ipv6]:port` (config.md §1). */
export interface Address { host: string, port: number }

/** Parses `host:port` or `[ipv6]:port` (port 0–65535); null when it is neither. */
export function parseAddress (raw: string): Address | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(raw.trim())
  const v6 = match?.[1]
  const host = v6 ?? match?.[2]
  const port = Number(match?.[3])
  if (host === undefined || (v6 !== undefined && !isIPv6(v6)) || port > 65535) return null
  return { host, port }
}

export function formatAddress ({ host, port }: Address): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
