/** NATS could not be reached at start (cluster.md §5): the node must not start. */
export class NatsConnectError extends Error {
  readonly servers: string[]
  constructor (servers: string[], cause: string, option: string) {
    super(`cannot connect to NATS at ${servers.join(', ')}: ${cause}; check ${option}`)
    this.name = 'NatsConnectError'
    this.servers = servers
  }
}

/** A stream or bucket exists with settings this node cannot use (cluster.md §2): the node must not start. */
export class IncompatibleSettingsError extends Error {
  readonly resource: string
  readonly setting: string
  constructor (resource: string, setting: string, actual: unknown, expected: unknown, hint: string) {
    super(`JetStream ${resource} has ${setting} = ${JSON.stringify(actual)} but this node needs ${JSON.stringify(expected)} (${hint})`)
    this.name = 'IncompatibleSettingsError'
    this.resource = resource
    this.setting = setting
  }
}
