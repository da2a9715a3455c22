import { hashToken } from '../../protocol/auth.js'
import type { JsonObject } from '../../protocol/entries.js'
import type { OpInput, OpName } from '../../protocol/schemas/registry.js'
import type { Client } from '../client/index.js'
import type { Invocation } from './args.js'
import {
  formatApplyEvent,
  formatCompact,
  formatCreateInstance,
  formatDeleteInstance,
  formatGetInstance,
  formatGetMachine,
  formatHistory,
  formatInstanceList,
  formatMachineList,
  formatPutMachine,
  formatSnapshot,
  formatTransitions,
  formatUnwatch,
  formatWalRead,
  formatWalStats,
  pretty,
  type MachineSummary,
} from './format.js'
import { readJsonArgument } from './json-arg.js'
import type { Style } from './style.js'

/** One-shot commands: the request(s) each sends and what it prints (cli.md §2–4). */

export interface Outcome {
  /** what `--json` prints */
  result: JsonObject
  /** what the human output prints */
  text: string
}

/** One request. The CLI builds params from flags as plain objects and leaves checking them to the server. */
export function send (client: Client, op: OpName, params: JsonObject = {}): Promise<JsonObject> {
  return client.request(op, params as OpInput<OpName>)
}

/** LIST_MACHINES, then GET_MACHINE of each machine's latest version; a failed GET leaves its definition null */
export async function listMachines (client: Client): Promise<{ result: JsonObject, machines: MachineSummary[] }> {
  const result = await send(client, 'LIST_MACHINES')
  const items = Array.isArray(result.items) ? result.items as JsonObject[] : []
  const machines: MachineSummary[] = []
  for (const item of items) {
    const machine = String(item.machine)
    const versions = Array.isArray(item.versions) ? item.versions : []
    let definition: JsonObject | null = null
    try {
      const got = await send(client, 'GET_MACHINE', { machine, version: versions[versions.length - 1] })
      definition = got.definition as JsonObject
    } catch {
      // the name and its versions are still worth showing
    }
    machines.push({ machine, versions, definition })
  }
  return { result, machines }
}

/** Params without the options the user left out. */
function defined (params: Record<string, unknown>): JsonObject {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined))
}

/** Reads the arguments (JSON ones included) before anything connects, then returns the step that talks to the server. */
type Prepare = (inv: Invocation, s: Style) => (client: Client) => Promise<Outcome>

const v = (inv: Invocation, name: string): any => inv.values[name]

function simple (op: OpName, params: JsonObject, text: (r: JsonObject) => string) {
  return async (client: Client): Promise<Outcome> => {
    const result = await send(client, op, params)
    return { result, text: text(result) }
  }
}

const COMMANDS: Record<string, Prepare> = {
  ping: () => simple('PING', {}, () => 'PONG'),
  info: () => simple('INFO', {}, r => pretty(r)),
  'put-machine': (inv, s) => {
    const definition = readJsonArgument(inv.positionals[0], '<DEFINITION>')
    return simple('PUT_MACHINE', { machine: v(inv, 'name'), version: v(inv, 'version'), definition }, r => formatPutMachine(r, s))
  },
  'get-machine': (inv, s) =>
    simple('GET_MACHINE', defined({ machine: v(inv, 'name'), version: v(inv, 'version') }), r => formatGetMachine(r, s)),
  diagram: (inv) => simple('GET_DIAGRAM', defined({
    machine: v(inv, 'name'), version: v(inv, 'version'), format: v(inv, 'format'), highlight: v(inv, 'highlight'),
  }), r => String(r.content)),
  'list-machines': (_inv, s) => async (client) => {
    const { result, machines } = await listMachines(client)
    return { result, text: formatMachineList(machines, s, 'No machines registered') }
  },
  'create-instance': (inv, s) => {
    const ctx = v(inv, 'ctx') === undefined ? undefined : readJsonArgument(v(inv, 'ctx'), '--ctx')
    const params = defined({
      machine: v(inv, 'machine'),
      version: v(inv, 'version'),
      instance_id: v(inv, 'id'),
      initial_ctx: ctx,
      idempotency_key: v(inv, 'idempotency-key'),
    })
    return simple('CREATE_INSTANCE', params, r => formatCreateInstance(r, v(inv, 'machine'), v(inv, 'version'), s))
  },
  'get-instance': (inv, s) =>
    simple('GET_INSTANCE', defined({ instance_id: inv.positionals[0], at_offset: v(inv, 'at') }), r => formatGetInstance(inv.positionals[0], r, s, v(inv, 'at'))),
  history: (inv, s) => {
    const params = defined({ instance_id: inv.positionals[0], from_offset: v(inv, 'from'), limit: v(inv, 'limit'), reverse: v(inv, 'reverse') })
    return simple('GET_HISTORY', params, r => formatHistory(r, s))
  },
  'apply-event': (inv, s) => {
    const payload = v(inv, 'payload') === undefined ? undefined : readJsonArgument(v(inv, 'payload'), '--payload')
    const params = defined({
      instance_id: v(inv, 'instance'),
      event: v(inv, 'event'),
      payload,
      expected_state: v(inv, 'expected-state'),
      expected_wal_offset: v(inv, 'expected-wal-offset'),
      event_id: v(inv, 'event-id'),
      idempotency_key: v(inv, 'idempotency-key'),
      dry_run: v(inv, 'dry-run') === true ? true : undefined,
    })
    return simple('APPLY_EVENT', params, r => formatApplyEvent(v(inv, 'instance'), v(inv, 'event'), r, s))
  },
  transitions: (inv, s) =>
    simple('GET_TRANSITIONS', { instance_id: inv.positionals[0] }, r => formatTransitions(r, s)),
  'delete-instance': (inv, s) =>
    simple('DELETE_INSTANCE', defined({ instance_id: inv.positionals[0], idempotency_key: v(inv, 'idempotency-key') }),
      () => formatDeleteInstance(inv.positionals[0], s)),
  'wal-read': (inv, s) =>
    simple('WAL_READ', defined({ from_offset: v(inv, 'from'), limit: v(inv, 'limit') }), r => formatWalRead(r, s)),
  compact: (inv, s) => simple('COMPACT', { force_snapshot: v(inv, 'force') === true }, r => formatCompact(r, s)),
  unwatch: (inv, s) =>
    simple('UNWATCH', { subscription_id: inv.positionals[0] }, r => formatUnwatch(inv.positionals[0], r, s)),
  'list-instances': (inv, s) => {
    const params = defined({ machine: v(inv, 'machine'), state: v(inv, 'state'), limit: v(inv, 'limit'), offset: v(inv, 'offset') })
    return simple('LIST_INSTANCES', params, r => {
      const shown = Array.isArray(r.instances) ? r.instances.length : 0
      return formatInstanceList(r, s, shown < Number(r.total) ? `showing ${shown}` : null)
    })
  },
  'wal-stats': (_inv, s) => simple('WAL_STATS', {}, r => formatWalStats(r, s)),
  'snapshot-instance': (inv) => simple('SNAPSHOT_INSTANCE', { instance_id: inv.positionals[0] }, formatSnapshot),
}

/** hash-token: computed here, no server involved. */
export function hashTokenOutcome (token: string): Outcome {
  const hash = hashToken(token)
  return { result: { hash }, text: hash }
}

/** Throws ClientError INVALID_ARGUMENT for a bad JSON argument, before any connection is made. */
export function prepareCommand (inv: Invocation, s: Style): (client: Client) => Promise<Outcome> {
  return COMMANDS[inv.command.name](inv, s)
}
