import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import type { JsonObject } from '../../protocol/entries.js'
import type { OpName } from '../../protocol/schemas.js'
import { startClusterNode } from '../../src/cluster/index.js'
import type { ClusterNode } from '../../src/cluster/index.js'
import { DEFAULT_COMPACTION, DEFAULT_STORAGE, DEFAULTS } from '../../src/config/schema.js'
import type { ClusterSection, CompactionSection } from '../../src/config/schema.js'

import { startNats } from '../support/nats.js'
import type { NatsCluster, NatsOptions } from '../support/nats.js'
import { startProxy } from '../support/proxy.js'
import type { Proxy } from '../support/proxy.js'

import { ORDER } from '../support/machines.js'

export { ORDER }

/** Short enough for failover tests to finish quickly, long enough for two busy cores. */
export const LEASE_MS = 1500

/** Waits long enough that no test depends on how busy the machine is; tests of the waits set their own. */
const PATIENT_MS = 30_000

export function clusterSection (servers: string[], overrides: Partial<ClusterSection> = {}): ClusterSection {
  return {
    ...DEFAULTS.cluster,
    enabled: true,
    nats_servers: servers,
    replicas: servers.length >= 3 ? 3 : 1,
    lease_ms: LEASE_MS,
    write_wait_ms: PATIENT_MS,
    read_wait_ms: PATIENT_MS,
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
  node.join()
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

/** An op on a node, its result as plain JSON. */
export async function call (n: TestNode, op: OpName, params: JsonObject = {}): Promise<{ result: JsonObject, walOffset: number }> {
  const outcome = await n.node.dispatch(op, params)
  return { result: outcome.result as JsonObject, walOffset: outcome.walOffset }
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
export async function natsFor (t: Test, size: number, opts: NatsOptions = {}): Promise<NatsCluster> {
  const nats = await startNats(size, opts)
  t.teardown(() => nats.stop())
  return nats
}

/** The nodes of one test, closed when it ends; push the ones it starts. */
export function nodesFor (t: Test): TestNode[] {
  const nodes: TestNode[] = []
  t.teardown(() => closeAll(nodes))
  return nodes
}

/** A proxy in front of the first server, closed when the test ends, with the URL a node reaches it at. */
export async function proxyFor (t: Test, nats: NatsCluster): Promise<Proxy & { url: string }> {
  const proxy = await startProxy(t, nats.servers[0].port)
  return Object.assign(proxy, { url: `nats://${proxy.address}` })
}

/** The elected leader, one follower and all the followers. */
export async function roles (nodes: TestNode[]): Promise<{ leader: TestNode, follower: TestNode, followers: TestNode[] }> {
  const leader = await electedLeader(nodes)
  const followers = nodes.filter((n) => n !== leader)
  return { leader, follower: followers[0], followers }
}

/**
 * A leader on one NATS server and a follower reaching it through a proxy (to cut it off), with the
 * order machine and instance `w` applied on both; stopped when the test ends.
 */
export async function leaderAndProxiedFollower (t: Test): Promise<{ nats: NatsCluster, proxy: Proxy, nodes: TestNode[], leader: TestNode, behind: TestNode }> {
  const nats = await natsFor(t, 1)
  const proxy = await proxyFor(t, nats)
  const nodes = nodesFor(t)
  nodes.push(await startNode(nats.urls, 'a'))
  const leader = await electedLeader(nodes)
  const behind = await startNode([proxy.url], 'behind')
  nodes.push(behind)
  await call(leader, 'PUT_MACHINE', { machine: 'order', version: 1, definition: ORDER })
  await call(leader, 'CREATE_INSTANCE', { machine: 'order', version: 1, instance_id: 'w' })
  await allAt(nodes, leader.node.head())
  return { nats, proxy, nodes, leader, behind }
}
