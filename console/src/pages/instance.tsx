import { useEffect, useState } from 'preact/hooks'
import { api, seg, type Problem } from '../api.js'
import { useFeature } from '../features.js'
import { useLive } from '../live.js'
import { paths } from '../router.js'
import { Diagram } from '../ui/diagram.js'
import { HistoryTimeline, TimeTravelForm, type HistoryPage } from '../ui/history-timeline.js'
import { JsonTree } from '../ui/json-tree.js'
import { Link } from '../ui/link.js'
import { LiveBadge } from '../ui/live-badge.js'
import { ProblemView } from '../ui/problem.js'
import { useResource } from '../ui/resource.js'
import { formatTime } from '../ui/time.js'
import { TransitionsPanel, transitionsFrom, type Transition } from '../ui/transitions-panel.js'
import { getVersion } from './machine.js'

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

/** history entries shown at first, and added by each "Show older entries" (GET_HISTORY's limit is at most 1000) */
const HISTORY_STEP = 50
const HISTORY_MAX = 1000

const instancePath = (id: string): string => `/v1/instances/${seg(id)}`

export function InstancePage ({ id, at }: { id: string, at: number | null }) {
  const hasHistory = useFeature('history')
  const hasTransitions = useFeature('transitions')
  const lifecycle = useFeature('lifecycle')
  const asOf = at !== null && hasHistory ? at : null
  const current = useResource(async () => (await api<Instance>('GET', instancePath(id))).data, [id])
  const past = useResource(async () => asOf === null ? null : (await api<Instance>('GET', instancePath(id), { query: { at_offset: asOf } })).data, [id, asOf])
  // the definition only for a server without GET_TRANSITIONS: the buttons are then worked out from it
  const definition = useResource(async () => hasTransitions || current.data === null ? null : await getVersion(current.data.machine, current.data.version),
    [hasTransitions, current.data?.machine, current.data?.version])
  const served = useResource(async () => hasTransitions && current.data !== null ? (await api<{ transitions: Transition[] }>('GET', `${instancePath(id)}/transitions`)).data.transitions : null,
    [id, hasTransitions, current.data?.last_wal_offset])
  const [historyLimit, setHistoryLimit] = useState(HISTORY_STEP)
  useEffect(() => setHistoryLimit(HISTORY_STEP), [id])
  const history = useResource(async () => hasHistory ? (await api<HistoryPage>('GET', `${instancePath(id)}/history`, { query: { reverse: true, limit: historyLimit } })).data : null,
    [id, hasHistory, historyLimit, current.data?.last_wal_offset])
  const [gone, setGone] = useState<Problem | null>(null)
  const [deleted, setDeleted] = useState(false)
  useEffect(() => { setGone(null); setDeleted(false) }, [id])

  const live = useLive({
    query: { instance_id: id, lifecycle: lifecycle ? 'true' : undefined },
    onEvent: (e) => {
      if ('kind' in e && e.kind === 'deleted') setDeleted(true)
      else current.reload()
    },
    onResumed: () => current.reload(),
    onRefused: setGone,
  }, [id, lifecycle])

  const head = (
    <>
      <Crumbs id={id} />
      <div class='page-head'><h1 class='mono break'>{id}</h1><LiveBadge status={live.status} lastOffset={live.lastOffset} /></div>
    </>
  )
  if (current.problem !== null && current.data === null) return <section>{head}<ProblemView problem={current.problem} /></section>
  const now = current.data
  if (now === null) return <section>{head}<p class='muted'>Loading…</p></section>
  // as of an offset: the past instance once it has answered; until then (or when it cannot), nothing stale
  const inst = asOf === null ? now : past.data
  const transitions = served.data ?? (definition.data === null ? [] : transitionsFrom(definition.data.definition, now.state))
  const olderHistory = history.data?.next_offset != null && historyLimit < HISTORY_MAX ? () => setHistoryLimit(historyLimit + HISTORY_STEP) : null

  return (
    <section>
      {head}
      {asOf !== null && (
        <div class='banner' role='status'>
          Viewing the instance as it was right after offset <span class='mono'>{asOf}</span> (now: <span class='state'>{now.state}</span> at offset <span class='mono'>{now.last_wal_offset}</span>). <Link href={paths.instance(id)}>Back to now</Link>
        </div>
      )}
      {deleted && <div class='banner' role='status'>This instance was deleted. Its history stays until it ages out.</div>}
      {gone !== null && <ProblemView problem={gone} />}
      {asOf !== null && past.problem !== null && <ProblemView problem={past.problem} />}
      {inst !== null && (
        <>
          <div class='summary'>
            <div><span class='label'>State{asOf !== null && ' then'}</span><span class='state big' data-testid='state'>{inst.state}</span></div>
            <div><span class='label'>Machine</span><span><Link class='mono break' href={paths.version(inst.machine, inst.version)}>{inst.machine}</Link> <span class='muted'>v{inst.version}</span></span></div>
            <div><span class='label'>Offset</span><span class='mono' data-testid='offset'>{inst.last_wal_offset}</span></div>
            <div><span class='label'>Updated</span><span>{formatTime(inst.updated_at)}</span></div>
          </div>
          <div class='card'>
            <h2>Diagram</h2>
            <Diagram machine={inst.machine} version={inst.version} highlight={inst.state} />
          </div>
        </>
      )}
      <div class='grid-2'>
        <div class='card'>
          <h2>Transitions from <span class='state'>{now.state}</span>{asOf !== null && <span class='muted small'> now</span>}</h2>
          <TransitionsPanel instance={now} transitions={transitions} readOnly={asOf !== null || deleted} onApplied={() => current.reload()} />
        </div>
        <div class='card' data-testid='ctx'>
          <h2>Context{asOf !== null && <span class='muted small'> as of offset {asOf}</span>}</h2>
          {inst !== null ? <JsonTree value={inst.ctx} /> : <p class='muted'>Loading…</p>}
        </div>
      </div>
      <div class='card' data-testid='history'>
        <div class='card-head'>
          <h2>History</h2>
          {hasHistory && <TimeTravelForm key={`${id}-${asOf ?? ''}`} id={id} at={asOf} />}
        </div>
        {!hasHistory && <p class='muted'>This server does not keep per-instance history (the history extension is not listed in INFO features).</p>}
        {history.problem !== null && <ProblemView problem={history.problem} />}
        {history.data !== null && <HistoryTimeline id={id} page={history.data} selected={asOf} onOlder={olderHistory} />}
      </div>
    </section>
  )
}

function Crumbs ({ id }: { id: string }) {
  return <nav class='crumbs' aria-label='Breadcrumb'><Link href={paths.instances()}>Instances</Link> / <span class='mono'>{id}</span></nav>
}
