import { Client, RcpError, type OpInput, type OpName } from 'rstmdb'
import { formatAddress, type Address } from '../../protocol/address.js'

/** The outcome of one operation, the same shape whichever face carried it. */
export type Reply = { ok: true, result: any } | { ok: false, code: string, details: any }

/** A way to run RCP operations: over an RCP connection or through the REST routes of http.md. */
export interface Face {
  name: 'rcp' | 'http'
  call: (op: string, params?: Record<string, any>) => Promise<Reply>
  close: () => void
}

/** An SDK client of the soak: no request timeouts, a slow answer under load is not a failure. */
export async function soakClient (address: Address, token: string | null, options: { reconnect?: boolean } = {}): Promise<Client> {
  return await Client.connect({ servers: [formatAddress(address)], token: token ?? undefined, clientName: 'rstmdb-soak', requestTimeoutMs: 0, ...options })
}

export async function rcpFace (address: Address, token: string | null): Promise<Face> {
  const client = await soakClient(address, token)
  return {
    name: 'rcp',
    async call (op, params = {}) {
      try {
        return { ok: true, result: await client.request(op as OpName, params as OpInput<OpName>) }
      } catch (err) {
        if (err instanceof RcpError) return { ok: false, code: err.code, details: err.details }
        throw err
      }
    },
    close: () => client.destroy(),
  }
}

interface Route { method: string, path: string, body?: unknown, headers?: Record<string, string> }

const enc = encodeURIComponent

function query (params: Record<string, unknown>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v))
  const text = q.toString()
  return text === '' ? '' : `?${text}`
}

/** The http.md route of each operation the soak uses; idempotency keys travel as the header. */
function route (op: string, params: Record<string, any>): Route {
  const { idempotency_key: key, ...rest } = params
  const headers: Record<string, string> = key === undefined ? {} : { 'idempotency-key': key }
  switch (op) {
    case 'PUT_MACHINE': return { method: 'PUT', path: `/v1/machines/${enc(rest.machine)}/versions/${String(rest.version)}`, body: rest.definition }
    case 'CREATE_INSTANCE': return { method: 'POST', path: '/v1/instances', body: rest, headers }
    case 'GET_INSTANCE': return { method: 'GET', path: `/v1/instances/${enc(rest.instance_id)}` }
    case 'LIST_INSTANCES': return { method: 'GET', path: `/v1/instances${query(rest)}` }
    case 'APPLY_EVENT': {
      const { instance_id: id, ...body } = rest
      return { method: 'POST', path: `/v1/instances/${enc(id)}/events`, body, headers }
    }
    case 'BATCH': return { method: 'POST', path: '/v1/batch', body: rest }
    case 'WAL_READ': return { method: 'GET', path: `/v1/wal${query(rest)}` }
    case 'WAL_STATS': return { method: 'GET', path: '/v1/wal/stats' }
    case 'COMPACT': return { method: 'POST', path: '/v1/compact', body: rest }
    case 'INFO': return { method: 'GET', path: '/v1/info' }
    default: throw new Error(`no REST route for ${op}`)
  }
}

export function httpFace (address: Address, token: string | null): Face {
  const base = `http://${formatAddress(address)}`
  const auth: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` }
  return {
    name: 'http',
    async call (op, params = {}) {
      const r = route(op, params)
      const res = await fetch(base + r.path, {
        method: r.method,
        headers: { ...auth, ...r.headers, ...(r.body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: r.body === undefined ? undefined : JSON.stringify(r.body),
      })
      const body: any = await res.json()
      return res.ok ? { ok: true, result: body } : { ok: false, code: body.code, details: body.details ?? {} }
    },
    close: () => {},
  }
}
