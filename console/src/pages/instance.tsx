import { useState } from 'preact/hooks'
import { api, asProblem, seg, type Problem } from '../api.js'
import { useFeature } from '../features.js'
import { useLive } from '../live.js'
import { paths } from '../router.js'
import { Diagram } from '../ui/diagram.js'
import { JsonField, parseJsonObject } from '../ui/json-field.js'
import { JsonTree } from '../ui/json-tree.js'
import { Link } from '../ui/link.js'
import { LiveBadge } from '../ui/live-badge.js'
import { ProblemView } from '../ui/problem.js'
import { useResource } from '../ui/resource.js'
import { formatTime } from '../ui/time.js'
import { getVersion, type Definition } from './machine.js'

interface Instance {
  instance_id: string
  machine: string
  version: number
  state: string
  ctx: Record<string, unknown>
  last_event_id?: string
  last_wal_offset: number
  created_at: number
  updated_at: number
}

/** history.md §4, or the same list worked out from the definition when the server lacks the route. */
export interface Transition { event: string, to: string, guard?: string, guard_passes?: boolean | null, taken?: boolean }

interface HistoryItem {
  wal_offset: number
  type: string
  at?: string
  event?: string
  from_state?: string
  to_state?: string
  state?: string
  payload?: Record<string, unknown> | null
  ctx?: Record<string, unknown>
  event_id?: string
}
interface HistoryPage { items: HistoryItem[], next_offset: number | null, earliest_offset: number, complete: boolean }

/** The events the state accepts, in definition order, each once (the first transition for an event is listed). */
export function transitionsFrom (definition: Definition, state: string): Transition[] {
  const out: Transition[] = []
  for (const t of definition.transitions) {
    if (!t.from.includes(state)) continue
    out.push({ event: t.event, to: t.to, ...(t.guard === undefined ? {} : { guard: t.guard }) })
  }
  return out
}

const instancePath = (id: string): string => `/v1/instances/${seg(id)}`

export function InstancePage ({ id, at }: { id: string, at: number | null }) {
  const hasHistory = useFeature('history')
  const hasTransitions = useFeature('transitions')
  const asOf = at !== null && hasHistory ? at : null
  const current = useResource(async () => (await api<Instance>('GET', instancePath(id))).data, [id])
  const past = useResource(async () => asOf === null ? null : (await api<Instance>('GET', instancePath(id), { query: { at_offset: asOf } })).data, [id, asOf])
  const inst = asOf === null ? current.data : past.data
  const definition = useResource(async () => current.data === null ? null : await getVersion(current.data.machine, current.data.version), [current.data?.machine, current.data?.version])
  const served = useResource(async () => hasTransitions && current.data !== null ? (await api<{ transitions: Transition[] }>('GET', `${instancePath(id)}/transitions`)).data.transitions : null,
    [id, hasTransitions, current.data?.last_wal_offset])
  const history = useResource(async () => hasHistory ? (await api<HistoryPage>('GET', `${instancePath(id)}/history`, { query: { reverse: true, limit: 50 } })).data : null,
    [id, hasHistory, current.data?.last_wal_offset])
  const [gone, setGone] = useState<Problem | null>(null)

  const live = useLive({
    query: { instance_id: id },
    onEvent: () => current.reload(),
    onResumed: () => current.reload(),
    onRefused: setGone,
  }, [id])

  if (current.problem !== null && current.data === null) {
    return (
      <section>
        <Crumbs id={id} />
        <div class='page-head'><h1 class='mono break'>{id}</h1><LiveBadge status={live.status} lastOffset={live.lastOffset} /></div>
        <ProblemView problem={current.problem} />
      </section>
    )
  }
  if (inst === null) return <section><Crumbs id={id} /><p class='muted'>Loading…</p>{past.problem !== null && <ProblemView problem={past.problem} />}</section>
  const transitions = served.data ?? (definition.data === null || current.data === null ? [] : transitionsFrom(definition.data.definition, current.data.state))

  return (
    <section>
      <Crumbs id={id} />
      <div class='page-head'>
        <h1 class='mono break'>{id}</h1>
        <LiveBadge status={live.status} lastOffset={live.lastOffset} />
      </div>
      {asOf !== null && (
        <div class='banner' role='status'>
          Viewing the instance as of offset <span class='mono'>{asOf}</span>. <Link href={paths.instance(id)}>Back to now</Link>
        </div>
      )}
      {gone !== null && <ProblemView problem={gone} />}
      <div class='summary'>
        <div><span class='label'>State</span><span class='state big' data-testid='state'>{inst.state}</span></div>
        <div><span class='label'>Machine</span><span><Link class='mono' href={paths.version(inst.machine, inst.version)}>{inst.machine}</Link> <span class='muted'>v{inst.version}</span></span></div>
        <div><span class='label'>Offset</span><span class='mono' data-testid='offset'>{inst.last_wal_offset}</span></div>
        <div><span class='label'>Updated</span><span>{formatTime(inst.updated_at)}</span></div>
      </div>
      <div class='card'>
        <h2>Diagram</h2>
        <Diagram machine={inst.machine} version={inst.version} highlight={inst.state} />
      </div>
      <div class='grid-2'>
        <div class='card'>
          <h2>Transitions from <span class='state'>{current.data?.state}</span></h2>
          {current.data !== null && (
            <Transitions instance={current.data} transitions={transitions} disabled={asOf !== null} onApplied={() => current.reload()} />
          )}
        </div>
        <div class='card'>
          <h2>Context</h2>
          <JsonTree value={inst.ctx} />
        </div>
      </div>
      <div class='card'>
        <h2>History</h2>
        {!hasHistory && <p class='muted'>This server does not keep per-instance history (the history extension is not listed in INFO features).</p>}
        {history.problem !== null && <ProblemView problem={history.problem} />}
        {history.data !== null && <Timeline id={id} page={history.data} selected={asOf} />}
      </div>
    </section>
  )
}

function Crumbs ({ id }: { id: string }) {
  return <nav class='crumbs' aria-label='Breadcrumb'><Link href={paths.instances()}>Instances</Link> / <span class='mono'>{id}</span></nav>
}

function Timeline ({ id, page, selected }: { id: string, page: HistoryPage, selected: number | null }) {
  return (
    <>
      <ol class='timeline'>
        {page.items.map((item) => (
          <li key={item.wal_offset} class={item.wal_offset === selected ? 'selected' : undefined}>
            <div class='t-head'>
              <span class='mono muted'>#{item.wal_offset}</span>
              {item.type === 'APPLY_EVENT'
                ? <><code class='event'>{item.event}</code> <span class='state'>{item.from_state}</span> → <span class='state'>{item.to_state}</span></>
                : <><code class='event'>{item.type.toLowerCase().replace(/_/g, ' ')}</code>{item.state !== undefined && <span class='state'>{item.state}</span>}</>}
              <span class='muted small'>{formatTime(item.at)}</span>
              <Link class='small' href={paths.instance(id, item.wal_offset)}>as of here</Link>
            </div>
            {item.payload != null && Object.keys(item.payload).length > 0 && <details><summary class='small'>payload</summary><JsonTree value={item.payload} /></details>}
          </li>
        ))}
      </ol>
      {!page.complete && <p class='muted small'>Older entries are no longer kept (earliest offset {page.earliest_offset}).</p>}
    </>
  )
}

type Outcome = { kind: 'applied' | 'preview', from: string, to: string, offset: number } | { kind: 'problem', problem: Problem }

function Transitions ({ instance, transitions, disabled, onApplied }: { instance: Instance, transitions: Transition[], disabled: boolean, onApplied: () => void }) {
  const hasDryRun = useFeature('dryRun')
  const [open, setOpen] = useState<string | null>(null)
  const [payload, setPayload] = useState('{}')
  const [busy, setBusy] = useState(false)
  const [outcome, setOutcome] = useState<Outcome | null>(null)
  const parsed = parseJsonObject(payload)
  if (transitions.length === 0) return <p class='muted'>No transitions leave this state: it is final.</p>

  const send = async (event: string, dryRun: boolean): Promise<void> => {
    if (parsed.value === null) return
    setBusy(true)
    setOutcome(null)
    try {
      const body: Record<string, unknown> = { event }
      if (Object.keys(parsed.value).length > 0) body.payload = parsed.value
      const res = await api<{ from_state: string, to_state: string, wal_offset: number }>('POST', `${instancePath(instance.instance_id)}/events`, {
        json: body,
        query: dryRun ? { dry_run: true } : undefined,
        // a page that is behind gets 412, never overwrites a change it has not seen
        headers: { 'if-match': `"${instance.last_wal_offset}"` },
      })
      setOutcome({ kind: dryRun ? 'preview' : 'applied', from: res.data.from_state, to: res.data.to_state, offset: res.data.wal_offset })
      if (!dryRun) {
        setOpen(null)
        onApplied()
      }
    } catch (err) {
      setOutcome({ kind: 'problem', problem: asProblem(err) })
    } finally {
      setBusy(false)
    }
  }

  return (
    <div class='transitions'>
      <div class='transition-buttons'>
        {transitions.map((t, i) => (
          <button
            key={`${t.event}-${i}`} type='button' disabled={disabled} aria-expanded={open === t.event}
            class={open === t.event ? 'selected' : undefined} data-event={t.event}
            onClick={() => { setOpen(open === t.event ? null : t.event); setOutcome(null) }}
          >
            <span class='mono'>{t.event}</span> <span class='muted'>→ {t.to}</span>
            {t.guard_passes === false && <span class='chip warn' title='the guard fails on the current ctx'>guard fails</span>}
          </button>
        ))}
      </div>
      {open !== null && (
        <div class='apply'>
          {transitions.filter((t) => t.event === open && t.guard !== undefined).map((t, i) => (
            <p key={i} class='small'>Guard <code>{t.guard}</code>{t.guard_passes != null && <span class={t.guard_passes ? 'ok-text' : 'error-text'}> {t.guard_passes ? 'passes' : 'fails'}</span>}</p>
          ))}
          <JsonField label='Payload (merged into ctx)' value={payload} onInput={setPayload} error={parsed.error} rows={4} />
          <div class='actions'>
            {hasDryRun && <button type='button' disabled={busy || parsed.error !== null} onClick={() => { void send(open, true) }}>Preview (dry run)</button>}
            <button type='button' class='primary' disabled={busy || parsed.error !== null} onClick={() => { void send(open, false) }}>Apply {open}</button>
          </div>
        </div>
      )}
      {outcome !== null && outcome.kind !== 'problem' && (
        <p class='ok-text' role='status'>
          {outcome.kind === 'preview' ? 'Dry run: would move ' : 'Applied: '}
          <span class='state'>{outcome.from}</span> → <span class='state'>{outcome.to}</span>
          {outcome.kind === 'applied' && <> at offset <span class='mono'>{outcome.offset}</span></>}
        </p>
      )}
      {outcome?.kind === 'problem' && (
        <ProblemView problem={outcome.problem}>
          {outcome.problem.status === 412 && (
            <p><strong>This instance changed since the page showed it.</strong> Nothing was applied. Check its new state, then try again.</p>
          )}
        </ProblemView>
      )}
    </div>
  )
}
