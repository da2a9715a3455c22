import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import type { JsonObject } from '../../protocol/entries.js'
import { startClusterNode } from '../../src/cluster/index.js'
import type { ClusterNode, ClusterSection } from '../../src/cluster/index.js'
import type { CompactionSection } from '../../src/ops/options.js'
import { DEFAULT_COMPACTION, DEFAULT_STORAGE } from '../../src/ops/options.js'

import { startNats } from '../support/nats.js'
import type { NatsCluster } from '../support/nats.js'
import { startTcpProxy } from '../support/tcp-proxy.js'
import type { TcpProxy } from '../support/tcp-proxy.js'

export { ORDER } from '../support/machines.js'

/** Short enough for failover tests to finish quickly, long enough for two busy cores. */
export const LEASE_MS = 1500

export function clusterSection (servers: string[], overrides: Partial<ClusterSection> = {}): ClusterSection {
  return {
    nats_servers: servers,
    node_id: null,
    stream: 'RSTMDB',
    subject_prefix: 'rstmdb',
    replicas: servers.length >= 3 ? 3 : 1,
    lease_ms: LEASE_MS,
    write_wait_ms: 10_000,
    read_wait_ms: 5_000,
    nats_token: null,
    nats_user: null,
    nats_password: null,
    nats_tls_ca: null,
    ...overrides,
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'error'
  message: string
  fields: Record<string, unknown>
}

/** A node with what it logged and the offsets its commit listener saw (from when it started). */
export interface TestNode {
  readonly id: string
  readonly node: ClusterNode
  readonly logs: LogLine[]
  readonly commits: number[]
}

export interface NodeOptions {
  cluster?: Partial<ClusterSection>
  compaction?: Partial<CompactionSection>
}

export async function startNode (servers: string[], id: string, opts: NodeOptions = {}): Promise<TestNode> {
  const logs: LogLine[] = []
  const line = (level: LogLine['level']) => (fields: object, message?: string) => { logs.push({ level, message: message ?? '', fields: fields as Record<string, unknown> }) }
  const node = await startClusterNode({
    cluster: clusterSection(servers, { node_id: id, ...opts.cluster }),
    storage: DEFAULT_STORAGE,
    compaction: { ...DEFAULT_COMPACTION, enabled: false, ...opts.compaction },
    logger: { info: line('info'), warn: line('warn'), error: line('error') },
  })
  const commits: number[] = []
  node.log.onCommit((records) => { for (const r of records) commits.push(r.sequence) })
  return { id, node, logs, commits }
}

/** Polls `cond` until it holds; fails after `timeoutMs` naming what it waited for. */
export async function until (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await cond())) {
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(25)
  }
}

export const leadersOf = (nodes: TestNode[]): TestNode[] => nodes.filter((n) => n.node.status().role === 'leader')

export async function electedLeader (nodes: TestNode[]): Promise<TestNode> {
  await until('one leader', () => leadersOf(nodes).length === 1)
  return leadersOf(nodes)[0]
}

export async function call (n: TestNode, op: string, params: JsonObject = {}, minOffset?: number): Promise<{ result: JsonObject, walOffset: number }> {
  return await n.node.dispatch(op, params, undefined, { minOffset })
}

/** Every node has applied `offset`. */
export async function allAt (nodes: TestNode[], offset: number): Promise<void> {
  await until(`all nodes at offset ${offset}`, () => nodes.every((n) => n.node.head() >= offset))
}

/** The full snapshot a node's engine would write, serialized: equal state is equal text. */
export const snapshotText = (n: TestNode): string => [...n.node.engine().snapshotLines()].map((l) => JSON.stringify(l)).join('\n')

export async function closeAll (nodes: TestNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.node.close()))
}

/** NATS servers for one test, stopped (store directories removed) when it ends. */
export async function natsFor (t: Test, size: number, args: string[] = []): Promise<NatsCluster> {
  const nats = await startNats(size, args)
  t.teardown(() => nats.stop())
  return nats
}

/** The nodes of one test, closed when it ends; push the ones it starts. */
export function nodesFor (t: Test): TestNode[] {
  const nodes: TestNode[] = []
  t.teardown(() => closeAll(nodes))
  return nodes
}

/** A proxy in front of the first server, closed when the test ends. */
export async function proxyFor (t: Test, nats: NatsCluster): Promise<TcpProxy> {
  const proxy = await startTcpProxy(nats.servers[0].port)
  t.teardown(() => proxy.close())
  return proxy
}

/** The elected leader, one follower and all the followers. */
export async function roles (nodes: TestNode[]): Promise<{ leader: TestNode, follower: TestNode, followers: TestNode[] }> {
  const leader = await electedLeader(nodes)
  const followers = nodes.filter((n) => n !== leader)
  return { leader, follower: followers[0], followers }
}
