import { Client, type ClientError, type ClientOptions, type RcpError } from '../client/index.js'
import { ConnectError } from './errors.js'

/**
 * Connect, HELLO, then AUTH when a token is set (cli.md §1). Any failure on the way is a
 * ConnectError (`Connection failed: …`) and leaves no socket open.
 */
export async function connectClient (options: ClientOptions): Promise<Client> {
  const client = new Client(options)
  try {
    await client.connect()
  } catch (err) {
    throw new ConnectError(err as ClientError | RcpError)
  }
  return client
}
