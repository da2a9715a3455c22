/**
 * The command line of rstmdb-cli as data (cli.md §1–2): global options, then each
 * subcommand's flags and positionals. Parsing and usage text are both derived from it.
 */

export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  /** placeholder shown in usage, e.g. `<N>` */
  value?: string
  required?: boolean
  /** a non-negative integer */
  integer?: boolean
  /** comma-separated list */
  list?: boolean
  default?: string
  help: string
}

export interface PositionalSpec { name: string, help: string }

export interface CommandSpec {
  name: string
  help: string
  options: Record<string, OptionSpec>
  /** all required, in order */
  positionals: PositionalSpec[]
  /** talks to the server (every command but hash-token) */
  connects: boolean
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec & { env?: string }> = {
  server: { type: 'string', short: 's', value: '<ADDR>', env: 'RSTMDB_SERVER', default: '127.0.0.1:7401', help: 'server address, host:port or [v6]:port' },
  token: { type: 'string', short: 't', value: '<TOKEN>', env: 'RSTMDB_TOKEN', help: 'send AUTH (bearer) after HELLO' },
  tls: { type: 'boolean', env: 'RSTMDB_TLS', help: 'use TLS' },
  'ca-cert': { type: 'string', value: '<PATH>', env: 'RSTMDB_CA_CERT', help: 'PEM CA replacing the system roots (turns TLS on)' },
  'client-cert': { type: 'string', value: '<PATH>', env: 'RSTMDB_CLIENT_CERT', help: 'mTLS certificate (turns TLS on)' },
  'client-key': { type: 'string', value: '<PATH>', env: 'RSTMDB_CLIENT_KEY', help: 'mTLS key, with --client-cert' },
  insecure: { type: 'boolean', short: 'k', help: 'skip server certificate checks (turns TLS on)' },
  'server-name': { type: 'string', value: '<NAME>', help: 'name for SNI and certificate checks (default: host of --server)' },
  json: { type: 'boolean', help: 'machine-readable output' },
  'wire-mode': { type: 'string', value: '<binary|jsonl>', default: 'binary', help: 'framing of the connection' },
  verbose: { type: 'boolean', help: 'write every message sent and received to stderr as JSON' },
  help: { type: 'boolean', short: 'h', help: 'print usage' },
  version: { type: 'boolean', short: 'V', help: 'print the CLI version' },
}

const idempotencyKey: OptionSpec = { type: 'string', value: '<K>', help: 'idempotency key (retries replay the first result)' }
const fromOffset: OptionSpec = { type: 'string', value: '<N>', integer: true, help: 'replay events from this WAL offset' }
const noCtx: OptionSpec = { type: 'boolean', help: 'leave ctx out of events' }
const lifecycle: OptionSpec = { type: 'boolean', help: 'also instance creations and deletions (events with a "kind")' }

function command (name: string, help: string, options: Record<string, OptionSpec> = {}, positionals: PositionalSpec[] = [], connects = true): CommandSpec {
  return { name, help, options, positionals, connects }
}

export const COMMANDS: readonly CommandSpec[] = [
  command('repl', 'interactive shell (the default without a command)'),
  command('ping', 'check the server answers'),
  command('info', 'server information'),
  command('put-machine', 'register a machine definition', {
    name: { type: 'string', short: 'n', value: '<NAME>', required: true, help: 'machine name' },
    version: { type: 'string', short: 'v', value: '<N>', required: true, integer: true, help: 'machine version' },
  }, [{ name: 'DEFINITION', help: 'definition JSON, or @file' }]),
  command('get-machine', 'show a machine definition', {
    name: { type: 'string', short: 'n', value: '<NAME>', required: true, help: 'machine name' },
    version: { type: 'string', short: 'v', value: '<N>', integer: true, help: 'machine version (default: latest)' },
  }),
  command('list-machines', 'list machines with their latest version'),
  command('diagram', 'draw a machine version as SVG, Mermaid or Graphviz DOT', {
    name: { type: 'string', short: 'n', value: '<NAME>', required: true, help: 'machine name' },
    version: { type: 'string', short: 'v', value: '<N>', integer: true, help: 'machine version (default: latest)' },
    format: { type: 'string', value: '<svg|mermaid|dot>', help: 'output format (default: svg)' },
    highlight: { type: 'string', value: '<STATE>', help: 'mark this state' },
  }),
  command('create-instance', 'create an instance', {
    machine: { type: 'string', short: 'm', value: '<M>', required: true, help: 'machine name' },
    version: { type: 'string', short: 'V', value: '<N>', required: true, integer: true, help: 'machine version' },
    id: { type: 'string', short: 'i', value: '<ID>', help: 'instance id (default: a random UUID)' },
    ctx: { type: 'string', short: 'c', value: '<JSON>', help: 'initial context JSON, or @file' },
    'idempotency-key': idempotencyKey,
  }),
  command('get-instance', 'show an instance', {
    at: { type: 'string', value: '<N>', integer: true, help: 'as it was right after this WAL offset' },
  }, [{ name: 'ID', help: 'instance id' }]),
  command('history', 'what happened to an instance: its creation, events and deletion', {
    from: { type: 'string', short: 'f', value: '<N>', integer: true, help: 'first offset (with --reverse: the highest); next pages start at "Next offset"' },
    limit: { type: 'string', short: 'l', value: '<N>', integer: true, help: 'most items (default 100, at most 1000)' },
    reverse: { type: 'boolean', short: 'r', help: 'newest first' },
  }, [{ name: 'ID', help: 'instance id' }]),
  command('apply-event', 'apply an event to an instance', {
    instance: { type: 'string', short: 'i', value: '<ID>', required: true, help: 'instance id' },
    event: { type: 'string', short: 'e', value: '<E>', required: true, help: 'event name' },
    payload: { type: 'string', short: 'p', value: '<JSON>', help: 'payload JSON, or @file' },
    'expected-state': { type: 'string', value: '<S>', help: 'fail with CONFLICT unless the instance is in this state' },
    'expected-wal-offset': { type: 'string', value: '<N>', integer: true, help: 'fail with CONFLICT unless last_wal_offset is N' },
    'event-id': { type: 'string', value: '<ID>', help: 'stored as last_event_id' },
    'idempotency-key': idempotencyKey,
    'dry-run': { type: 'boolean', help: 'show what the event would do, writing nothing' },
  }),
  command('transitions', 'the transitions an instance can take now, with each guard evaluated', {}, [{ name: 'ID', help: 'instance id' }]),
  command('delete-instance', 'delete an instance', { 'idempotency-key': idempotencyKey }, [{ name: 'ID', help: 'instance id' }]),
  command('wal-read', 'read WAL records', {
    from: { type: 'string', short: 'f', value: '<N>', integer: true, default: '0', help: 'first offset' },
    limit: { type: 'string', short: 'l', value: '<N>', integer: true, help: 'most records to return' },
  }),
  command('compact', 'snapshot instances and delete old WAL segments', {
    force: { type: 'boolean', short: 'f', help: 'snapshot every instance first' },
  }),
  command('hash-token', 'print the SHA-256 hash of a token for the server config (offline)', {}, [{ name: 'TOKEN', help: 'the token' }], false),
  command('watch-instance', 'stream the events of one instance', {
    'no-ctx': noCtx,
    'from-offset': fromOffset,
    lifecycle,
  }, [{ name: 'ID', help: 'instance id' }]),
  command('watch-all', 'stream the events of all instances, filtered', {
    machines: { type: 'string', value: '<a,b>', list: true, help: 'only these machines' },
    'from-states': { type: 'string', value: '<a,b>', list: true, help: 'only transitions from these states' },
    'to-states': { type: 'string', value: '<a,b>', list: true, help: 'only transitions to these states' },
    events: { type: 'string', value: '<A,B>', list: true, help: 'only these events' },
    'no-ctx': noCtx,
    'from-offset': fromOffset,
    lifecycle,
  }),
  command('unwatch', 'remove a subscription of this connection', {}, [{ name: 'SUBSCRIPTION_ID', help: 'subscription id' }]),
  command('list-instances', 'list instances', {
    machine: { type: 'string', value: '<M>', help: 'only this machine' },
    state: { type: 'string', value: '<S>', help: 'only instances in this state' },
    limit: { type: 'string', value: '<N>', integer: true, default: '100', help: 'most rows' },
    offset: { type: 'string', value: '<N>', integer: true, default: '0', help: 'rows to skip' },
  }),
  command('wal-stats', 'WAL and I/O statistics'),
  command('snapshot-instance', 'write a snapshot of one instance', {}, [{ name: 'ID', help: 'instance id' }]),
]

export function findCommand (name: string): CommandSpec | undefined {
  return COMMANDS.find(c => c.name === name)
}
