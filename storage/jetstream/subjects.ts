import type { WalEntry } from '../../protocol/entries.js'

/**
 * Subjects of cluster.md §2 and §4. Names become base64url tokens (no padding) of
 * their UTF-8 bytes, so any valid machine or instance name is a valid subject token.
 */
export interface Subjects {
  /** what the stream captures: every log entry and nothing else of rstmdb's */
  readonly log: string
  /** term entries (§3) */
  readonly term: string
  /** write forwarding (§4), outside the log */
  readonly rpcWrite: string
  machine: (name: string) => string
  instance: (id: string) => string
  /** the subject an entry is published on */
  forEntry: (entry: WalEntry) => string
}

export const subjectToken = (name: string): string => Buffer.from(name, 'utf8').toString('base64url')

export function createSubjects (prefix: string): Subjects {
  const machine = (name: string): string => `${prefix}.log.m.${subjectToken(name)}`
  const instance = (id: string): string => `${prefix}.log.i.${subjectToken(id)}`
  const term = `${prefix}.log.t`
  return {
    log: `${prefix}.log.>`,
    term,
    rpcWrite: `${prefix}.rpc.write`,
    machine,
    instance,
    forEntry (entry) {
      switch (entry.type) {
        case 'put_machine': return machine(entry.machine)
        case 'checkpoint': return term
        default: return instance(entry.instance_id)
      }
    },
  }
}
