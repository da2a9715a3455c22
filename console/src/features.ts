import { api, session } from './api.js'
import { createStore, useStore } from './store.js'

/**
 * What this server offers beyond the base API, from INFO `features`: the names
 * are those of protocol/identity.ts SERVER_FEATURES (history.md: each extension
 * is listed there). Pages show the parts that need
 * an extension only when the server has it, so they never probe for a route.
 */
export const FEATURES = {
  /** GET …/diagram (console.md §1); the console shows a note instead of a picture without it */
  diagram: 'diagram',
  /** GET /v1/instances/{id}/history and ?at_offset= (history.md §2, §3) */
  history: 'history',
  /** GET /v1/instances/{id}/transitions (history.md §4) */
  transitions: 'transitions',
  /** ?dry_run=true on apply-event (history.md §5) */
  dryRun: 'dry_run',
  /** `lifecycle=true` on the watch: creations and deletions as events (history.md §6a) */
  lifecycle: 'lifecycle_events',
} as const

export type Feature = keyof typeof FEATURES

export interface Info {
  server_name: string
  server_version: string
  protocol_version: number
  features: string[]
  wal_offset: number
  machines: number
  instances: number
  connections: number
  uptime_secs: number
  max_frame_bytes: number
  max_batch_ops: number
  cluster?: Record<string, unknown>
}

const info = createStore<Info | null>(null)
let loading: Promise<void> | null = null
// signing in or out: ask again, with the new credentials
session.subscribe(() => {
  loading = null
  info.set(null)
})

function loadInfo (): void {
  loading ??= api<Info>('GET', '/v1/info').then((a) => info.set(a.data), () => { loading = null })
}

/** INFO once the server has accepted this tab's credentials; null until then. */
export function useInfo (): Info | null {
  const current = useStore(info)
  if (current === null) loadInfo()
  return current
}

/** Whether the server has an extension; false until INFO has answered. */
export function useFeature (feature: Feature): boolean {
  return useInfo()?.features.includes(FEATURES[feature]) ?? false
}
