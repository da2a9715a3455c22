/** Resolves true when `p` settles within `ms`, false otherwise (to tell "closed" from "still open"). */
export async function within (p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([
    p.then(() => true, () => true),
    new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), ms) }),
  ])
  clearTimeout(timer)
  return result
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** The error body of a raw error response (throws on success so a test sees what came back). */
export function errorOf (response: any): { code: string, message: string, retryable: boolean, details?: any } {
  if (response.status !== 'error') throw new Error(`expected an error, got ${JSON.stringify(response)}`)
  return response.error
}

/** The result of a raw ok response. */
export function resultOf (response: any): any {
  if (response.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(response)}`)
  return response.result
}
