/** What the history tests share: reading a whole history page by page, on any face. */

export interface HistoryResult {
  instance_id: string
  items: Array<Record<string, any> & { wal_offset: number, type: string }>
  next_offset: number | null
  earliest_offset: number
  complete: boolean
}

export type GetHistory = (params: { instance_id: string, from_offset?: number, limit?: number, reverse?: boolean }) => Promise<HistoryResult>

/** Every page from the first (or `from`) by following next_offset; throws past `maxPages` (a cursor that never ends). */
export async function allPages (get: GetHistory, instanceId: string, opts: { limit: number, reverse?: boolean, from?: number, maxPages?: number }): Promise<HistoryResult[]> {
  const pages: HistoryResult[] = []
  let from = opts.from
  for (let i = 0; i < (opts.maxPages ?? 1000); i++) {
    const page = await get({ instance_id: instanceId, limit: opts.limit, reverse: opts.reverse, ...(from === undefined ? {} : { from_offset: from }) })
    pages.push(page)
    if (page.next_offset === null) return pages
    from = page.next_offset
  }
  throw new Error(`history of ${instanceId} did not end within ${opts.maxPages ?? 1000} pages`)
}

export const offsetsOf = (pages: HistoryResult[]): number[] => pages.flatMap(p => p.items.map(i => i.wal_offset))
