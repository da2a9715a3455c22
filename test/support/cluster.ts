import { readdirSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client, type ClientOptions } from 'rstmdb'
import { freePort, launchServer, removeDir, type RunningServer } from '../../bench/server.js'
import { startNats, type NatsCluster, type NatsOptions } from './nats.js'
import type { Teardown } from './temp-dir.js'

/**
 * A cluster of real rstmdb processes (cluster.md) over real nats-server processes, all on
 * loopback ports: three NATS servers with JetStream and N rstmdb nodes started with
 * RSTMDB_CLUSTER_ENABLED. Nodes are killed, paused and restarted by pid; teardown stops
 * every process and removes every directory.
 */

/** Short enough for failover tests to finish quickly, long enough for two busy cores. */
export const E2E_LEASE_MS = 1500

/** Waits that no test depends on the machine's speed for. */
const PATIENT_MS = 30_000
/** how long allApplied waits for every node to converge */
const CONVERGE_MS = 90_000

export interface NodeProcess {
  readonly id: string
  /** `127.0.0.1:<port>` of its RCP listener (the same after a restart) */
  readonly address: string
  /** `http://127.0.0.1:<port>` of its gateway */
  readonly url: string
  /** the running process, null once it was killed or stopped */
  readonly server: RunningServer | null
  /** its JSON log lines so far (this process's) */
  logs: () => Array<Record<string, unknown>>
  /** kill -9, resolves once it is gone */
  kill: () => Promise<void>
  /** SIGTERM, resolves with the exit code */
  stop: () => Promise<number | null>
  pause: () => void
  resume: () => void
  /** starts it again on the same ports */
  restart: () => Promise<void>
  /** the data directory the process was given: cluster mode must leave it empty */
  readonly dataDir: string
}

export interface ClusterOptions {
  nodes?: number
  nats?: number
  /** extra RSTMDB_* variables for every node */
  env?: Record<string, string>
  natsOptions?: NatsOptions
}

export interface TestCluster {
  readonly nats: NatsCluster
  readonly nodes: NodeProcess[]
  /** every node's RCP address, as an SDK failover list */
  readonly addresses: string[]
  /** starts one more node (a node joining later) */
  add: (id: string, env?: Record<string, string>) => Promise<NodeProcess>
  /** the env a node of this cluster is started with */
  env: (id: string) => Record<string, string>
}

function nodeEnv (nats: NatsCluster, id: string, extra: Record<string, string>): Record<string, string> {
  return {
    RSTMDB_CLUSTER_ENABLED: 'true',
    RSTMDB_NATS_SERVERS: nats.urls.join(','),
    RSTMDB_NODE_ID: id,
    RSTMDB_CLUSTER_REPLICAS: String(Math.min(3, nats.servers.length)),
    RSTMDB_CLUSTER_LEASE_MS: String(E2E_LEASE_MS),
    RSTMDB_CLUSTER_WRITE_WAIT_MS: String(PATIENT_MS),
    RSTMDB_CLUSTER_READ_WAIT_MS: String(PATIENT_MS),
    RSTMDB_COMPACT_ENABLED: 'false',
    RSTMDB_HTTP_ENABLED: 'true',
    ...extra,
  }
}

async function startNode (t: Teardown, id: string, env: Record<string, string>): Promise<NodeProcess> {
  const rcpPort = await freePort()
  const httpPort = await freePort()
  let server: RunningServer | null = null
  let dataDir = ''
  const launch = async (): Promise<void> => {
    const s = await launchServer({
      env: { ...env, RSTMDB_BIND: `127.0.0.1:${rcpPort}`, RSTMDB_HTTP_BIND: `127.0.0.1:${httpPort}` },
      dataDir: dataDir === '' ? undefined : dataDir,
      timeoutMs: PATIENT_MS,
    })
    dataDir = s.dataDir
    server = s
  }
  await launch()
  const node: NodeProcess = {
    id,
    address: `127.0.0.1:${rcpPort}`,
    url: `http://127.0.0.1:${httpPort}`,
    get server () { return server },
    get dataDir () { return dataDir },
    logs: () => server?.logs ?? [],
    async kill () {
      await server?.stop('SIGKILL')
      server = null
    },
    async stop () {
      const code = await server?.stop('SIGTERM') ?? null
      server = null
      return code
    },
    pause () { server?.child.kill('SIGSTOP') },
    resume () { server?.child.kill('SIGCONT') },
    async restart () {
      if (server !== null) await node.kill()
      await launch()
    },
  }
  t.teardown(async () => {
    node.resume()
    await node.kill()
    removeDir(dataDir)
  })
  return node
}

/** Three NATS servers (unless told otherwise) and `nodes` rstmdb nodes, stopped at teardown. */
export async function startCluster (t: Teardown, opts: ClusterOptions = {}): Promise<TestCluster> {
  const nats = await startNats(opts.nats ?? 3, opts.natsOptions)
  t.teardown(() => nats.stop())
  const env = (id: string): Record<string, string> => nodeEnv(nats, id, opts.env ?? {})
  const nodes: NodeProcess[] = []
  // one after the other: the first creates the stream and the buckets
  for (let i = 0; i < (opts.nodes ?? 3); i++) nodes.push(await startNode(t, `node-${i + 1}`, env(`node-${i + 1}`)))
  return {
    nats,
    nodes,
    get addresses () { return nodes.map((n) => n.address) },
    async add (id, extra = {}) {
      const node = await startNode(t, id, { ...env(id), ...extra })
      nodes.push(node)
      return node
    },
    env,
  }
}

/** An SDK client of one node (or of a failover list), destroyed at teardown. */
export async function clientOf (t: Teardown, servers: string | string[], options: ClientOptions = {}): Promise<Client> {
  const client = await Client.connect({
    servers: typeof servers === 'string' ? [servers] : servers,
    clientName: 'rstmdb-cluster-test',
    requestTimeoutMs: PATIENT_MS * 2,
    reconnect: { attempts: 100, delayMs: 50, maxDelayMs: 500 },
    ...options,
  })
  t.teardown(() => client.destroy())
  return client
}

/** INFO's cluster object of a node over its gateway, or null when it does not answer. */
export async function clusterInfo (node: NodeProcess, timeoutMs = 2000): Promise<{ role: string, term: number, applied_offset: number, node_id: string } | null> {
  if (node.server === null) return null
  try {
    const res = await fetch(`${node.url}/v1/info`, { signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) return null
    return (await res.json() as { cluster: { role: string, term: number, applied_offset: number, node_id: string } }).cluster
  } catch {
    return null
  }
}

/** Polls until `cond` holds; fails naming what it waited for after `timeoutMs`. */
export async function until (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = PATIENT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await cond())) {
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(25)
  }
}

/** The nodes that say they lead, asked one after the other. */
export async function leaders (nodes: NodeProcess[]): Promise<NodeProcess[]> {
  const infos = await Promise.all(nodes.map(clusterInfo))
  return nodes.filter((_, i) => infos[i]?.role === 'leader')
}

/** The one node that leads, once there is one. */
export async function leaderOf (nodes: NodeProcess[]): Promise<NodeProcess> {
  let found: NodeProcess[] = []
  await until('one leader', async () => (found = await leaders(nodes)).length === 1)
  return found[0]
}

/**
 * Every running node has applied `offset`. A timeout names where each node was and what the ones
 * behind logged. The bound is for a hang: in the whole suite (and only there) a follower has been
 * seen to take tens of seconds to apply a write, which the timeout message is there to explain.
 */
export async function allApplied (nodes: NodeProcess[], offset: number, timeoutMs = CONVERGE_MS): Promise<void> {
  let where: string[] = []
  try {
    await until(`every node at offset ${offset}`, async () => {
      const running = nodes.filter((n) => n.server !== null)
      const infos = await Promise.all(running.map(async (n) => await clusterInfo(n)))
      where = running.map((n, i) => {
        const info = infos[i]
        if (info !== null && info.applied_offset >= offset) return `${n.id}: ${info.role} at ${info.applied_offset}`
        const warnings = n.logs().filter((l) => typeof l.level === 'string' && ['warn', 'error'].includes(l.level)).slice(-5).map((l) => JSON.stringify(l))
        return `${n.id}: ${info === null ? 'no answer' : `${info.role} at ${info.applied_offset}`}; its last warnings: [${warnings.join(', ')}]`
      })
      return infos.every((i) => i !== null && i.applied_offset >= offset)
    }, timeoutMs)
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${where.join('; ')}`)
  }
}

/** True when the directory has no entries: a cluster node writes nothing to disk (cluster.md §5). */
export const isEmptyDir = (dir: string): boolean => readdirSync(dir).length === 0

/**
 * Everything a node holds, read through RCP at `offset` (the node answers once it has applied
 * it): machines, every instance with its ctx, and the retained log. Nodes with equal state at
 * equal offsets give equal text.
 */
export async function stateAt (client: Client, offset: number): Promise<string> {
  const min = { min_offset: offset }
  const machines = await client.listMachines(min)
  const instances: unknown[] = []
  for (let after: string | undefined; ;) {
    const page = await client.listInstances({ ...min, limit: 1000, ...(after === undefined ? {} : { after }) })
    // pipelined on the one connection, answered in order
    instances.push(...await Promise.all(page.instances.map(async (row) => await client.getInstance({ instance_id: row.id, ...min }))))
    if (!page.has_more || page.instances.length === 0) break
    after = page.instances[page.instances.length - 1].id
  }
  const log: unknown[] = []
  for (let from = 1; ;) {
    const page = await client.walRead({ from_offset: from, limit: 1000, ...min })
    log.push(...page.records.filter((r) => r.sequence <= offset))
    if (page.next_offset === null || page.next_offset > offset) break
    from = page.next_offset
  }
  return JSON.stringify({ machines, instances, log })
}

export interface KeyedLoad {
  /** idempotency key → offset of its acknowledged write */
  readonly acked: Map<string, number>
  /** the writes the writers sent again after a retryable failure, by key */
  readonly retried: Set<string>
  /** retryable failures seen, by details.reason (server) or code (client) */
  readonly failures: Map<string, number>
  /** resolves once `n` more writes have been acknowledged than when it was called */
  more: (n: number) => Promise<void>
  /** stops after each writer's write in progress is acknowledged; rejects if a writer failed */
  stop: () => Promise<void>
}

/** a writer gives up on one key after this many retryable failures in a row */
const MAX_ATTEMPTS = 1500
const RETRY_PAUSE_MS = 20

/**
 * Writers that never lose track of a write: APPLY_EVENT with an idempotency key, sent again with
 * the same key after any retryable failure until it is acknowledged (cluster.md §8, rcp.md §9).
 * Writer `w` uses `clients[w]` and writes to `instances[w]`. A non-retryable error fails the load.
 */
export function keyedLoad (clients: Client[], instances: string[], event = 'NOTE'): KeyedLoad {
  const acked = new Map<string, number>()
  const retried = new Set<string>()
  const failures = new Map<string, number>()
  let running = true
  let failed: unknown = null
  const writer = async (w: number): Promise<void> => {
    // eslint-disable-next-line no-unmodified-loop-condition -- the test sets running to false while this loop awaits
    for (let k = 0; running; k++) {
      const key = `w${w}-${k}`
      for (let attempt = 1; ; attempt++) {
        try {
          const out = await clients[w].applyEvent({ instance_id: instances[w], event, payload: { key }, idempotency_key: key })
          acked.set(key, out.wal_offset)
          break
        } catch (err) {
          const e = err as { retryable?: boolean, code?: string, details?: { reason?: string } }
          if (e.retryable !== true || attempt >= MAX_ATTEMPTS) throw err
          const what = e.details?.reason ?? e.code ?? 'unknown'
          failures.set(what, (failures.get(what) ?? 0) + 1)
          retried.add(key)
          await sleep(RETRY_PAUSE_MS)
        }
      }
    }
  }
  const done = Promise.all(clients.map(async (_, w) => await writer(w)))
  done.catch((err: unknown) => {
    failed = err
    running = false
  })
  return {
    acked,
    retried,
    failures,
    async more (n) {
      const target = acked.size + n
      await until(`${n} more acknowledged writes`, () => {
        if (failed !== null) throw failed
        return acked.size >= target
      })
    },
    async stop () {
      running = false
      await done
    },
  }
}
