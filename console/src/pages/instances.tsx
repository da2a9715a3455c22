import { useRef, useState } from 'preact/hooks'
import { api } from '../api.js'
import { useFeature } from '../features.js'
import { useLive, type LiveEvent } from '../live.js'
import { navigate, paths } from '../router.js'
import { CreateInstance } from '../ui/create-instance.js'
import { Link } from '../ui/link.js'
import { LiveBadge } from '../ui/live-badge.js'
import { ProblemView } from '../ui/problem.js'
import { useResource } from '../ui/resource.js'
import { formatTime } from '../ui/time.js'
import type { MachineList } from './machines.js'

interface Row { id: string, machine: string, version: number, state: string, created_at: number, updated_at: number, last_wal_offset: number }
interface Page { instances: Row[], total: number, has_more: boolean, next_after?: string | null }

const PAGE_SIZE = 50

/** LIST_INSTANCES with machine/state filters and the `after` cursor; rows follow the live feed. */
export function InstancesPage ({ machine, state, after }: { machine: string, state: string, after: string }) {
  const machines = useResource(async () => (await api<MachineList>('GET', '/v1/machines')).data, [])
  const page = useResource(async () => (await api<Page>('GET', '/v1/instances', { query: { machine, state, after: after === '' ? undefined : after, limit: PAGE_SIZE } })).data, [machine, state, after])
  // live changes on top of the loaded page: id → newer row
  const [changes, setChanges] = useState<Map<string, Partial<Row>>>(new Map())
  const [creating, setCreating] = useState(false)
  const [stateInput, setStateInput] = useState(state)
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const scheduleReload = (): void => {
    clearTimeout(reloadTimer.current)
    reloadTimer.current = setTimeout(() => { setChanges(new Map()); page.reload() }, 300)
  }

  // with lifecycle events a new instance shows up when it is created, not only at its first transition
  const lifecycle = useFeature('lifecycle')
  const live = useLive({
    query: { machines: machine, include_ctx: 'false', lifecycle: lifecycle ? 'true' : undefined },
    onEvent: (e: LiveEvent) => {
      const rows = page.data?.instances ?? []
      if ('kind' in e) {
        scheduleReload()
      } else if (rows.some((r) => r.id === e.instance_id)) {
        setChanges((prev) => new Map(prev).set(e.instance_id, { state: e.to_state, last_wal_offset: e.wal_offset, updated_at: Date.now() }))
      } else if (after === '') {
        // a row this page does not show yet (a new instance, or one that entered the filter)
        scheduleReload()
      }
    },
    onResumed: scheduleReload,
  }, [machine, lifecycle])

  const setFilter = (next: { machine?: string, state?: string }): void => {
    setChanges(new Map())
    navigate(paths.instances({ machine: next.machine ?? machine, state: next.state ?? state }))
  }
  const selected = machines.data?.items.find((m) => m.machine === machine)
  const rows = page.data?.instances ?? []
  // the first page has no next_after; ids are the keyset, so the last row's id is the cursor
  const next = page.data?.has_more === true ? (page.data.next_after ?? rows[rows.length - 1]?.id ?? null) : null

  return (
    <section>
      <div class='page-head'>
        <h1>Instances</h1>
        <div class='actions'>
          <LiveBadge status={live.status} lastOffset={live.lastOffset} />
          {selected !== undefined && <button type='button' class='primary' aria-expanded={creating} onClick={() => setCreating(!creating)}>New instance</button>}
        </div>
      </div>
      <form class='filters' onSubmit={(e) => { e.preventDefault(); setFilter({ state: stateInput.trim() }) }}>
        <label>
          Machine
          <select value={machine} onChange={(e) => setFilter({ machine: e.currentTarget.value, state: '' })}>
            <option value=''>All machines</option>
            {machines.data?.items.map((m) => <option key={m.machine} value={m.machine}>{m.machine}</option>)}
          </select>
        </label>
        <label>
          State
          <input class='mono' value={stateInput} placeholder='any' onInput={(e) => setStateInput(e.currentTarget.value)} />
        </label>
        <button type='submit'>Filter</button>
        {(machine !== '' || state !== '') && <button type='button' class='link' onClick={() => { setStateInput(''); setFilter({ machine: '', state: '' }) }}>Clear</button>}
      </form>
      {creating && selected !== undefined && (
        <CreateInstance machine={selected.machine} version={selected.versions[selected.versions.length - 1]} onCancel={() => setCreating(false)} />
      )}
      {page.problem !== null && <ProblemView problem={page.problem} />}
      {page.data !== null && page.data.instances.length === 0 && (
        <div class='empty'><p>No instances{machine !== '' ? <> of <span class='mono'>{machine}</span></> : ''}{state !== '' ? <> in state <span class='state'>{state}</span></> : ''}.</p>
          {machine === '' && <p class='muted'>Pick a machine to create one, or open a machine version and choose “New instance”.</p>}
        </div>
      )}
      {page.data !== null && page.data.instances.length > 0 && (
        <>
          <div class='table-wrap'>
            <table class='instances'>
              <thead><tr><th>Instance</th><th>Machine</th><th>State</th><th class='hide-narrow'>Updated</th><th class='num'>Offset</th></tr></thead>
              <tbody>
                {page.data.instances.map((base) => {
                  const row = { ...base, ...changes.get(base.id) }
                  const left = state !== '' && row.state !== state
                  return (
                    <tr key={row.id} class={changes.has(row.id) ? 'changed' : undefined} data-id={row.id}>
                      <td><Link class='mono strong' href={paths.instance(row.id)}>{row.id}</Link></td>
                      <td><Link class='mono' href={paths.version(row.machine, row.version)}>{row.machine}</Link> <span class='muted'>v{row.version}</span></td>
                      <td><span class={`state${left ? ' dim' : ''}`}>{row.state}</span></td>
                      <td class='hide-narrow muted'>{formatTime(row.updated_at)}</td>
                      <td class='num mono'>{row.last_wal_offset}</td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
          <div class='pager'>
            <span class='muted'>{page.data.total} matching</span>
            {after !== '' && <Link class='button' href={paths.instances({ machine, state })}>First page</Link>}
            {next !== null && <Link class='button' href={paths.instances({ machine, state, after: next })}>Next page</Link>}
          </div>
        </>
      )}
    </section>
  )
}
