import { useEffect, useState } from 'preact/hooks'
import { api, seg } from '../api.js'
import { navigate, paths } from '../router.js'
import { CreateInstance } from '../ui/create-instance.js'
import { Diagram } from '../ui/diagram.js'
import { Link } from '../ui/link.js'
import { ProblemView } from '../ui/problem.js'
import { useResource } from '../ui/resource.js'

export interface Definition {
  states: string[]
  initial: string
  transitions: Array<{ from: string[], event: string, to: string, guard?: string, meta?: unknown }>
  meta?: unknown
}

export interface MachineVersion { machine: string, version: number, checksum: string, definition: Definition }

interface MachineSummary { machine: string, versions: number[], latest: number }

export async function getVersion (machine: string, version: number | string): Promise<MachineVersion> {
  return (await api<MachineVersion>('GET', `/v1/machines/${seg(machine)}/versions/${seg(version)}`)).data
}

/** /machines/{m}: the latest version's page. */
export function MachinePage ({ machine }: { machine: string }) {
  const summary = useResource(async () => (await api<MachineSummary>('GET', `/v1/machines/${seg(machine)}`)).data, [machine])
  useEffect(() => {
    if (summary.data !== null) navigate(paths.version(machine, summary.data.latest), true)
  }, [summary.data])
  if (summary.problem !== null) return <section><h1 class='mono'>{machine}</h1><ProblemView problem={summary.problem} /></section>
  return <section><p class='muted'>Loading…</p></section>
}

export function VersionPage ({ machine, version }: { machine: string, version: string }) {
  const summary = useResource(async () => (await api<MachineSummary>('GET', `/v1/machines/${seg(machine)}`)).data, [machine])
  const def = useResource(async () => await getVersion(machine, version), [machine, version])
  const [creating, setCreating] = useState(false)
  const v = def.data
  return (
    <section>
      <nav class='crumbs' aria-label='Breadcrumb'><Link href={paths.machines()}>Machines</Link> / <span class='mono'>{machine}</span></nav>
      <div class='page-head'>
        <h1><span class='mono'>{machine}</span> <span class='muted'>v{version}</span></h1>
        <div class='actions'>
          <Link class='button' href={paths.instances({ machine })}>Instances</Link>
          <button type='button' onClick={() => setCreating(!creating)} aria-expanded={creating}>New instance</button>
          <Link class='button primary' href={paths.newVersion(machine)}>New version</Link>
        </div>
      </div>
      {summary.data !== null && (
        <div class='versions' aria-label='Versions'>
          {summary.data.versions.map((n) => (
            <Link key={n} class='chip' href={paths.version(machine, n)} aria-current={String(n) === String(v?.version ?? version) ? 'page' : undefined}>v{n}</Link>
          ))}
        </div>
      )}
      {creating && v !== null && <CreateInstance machine={machine} version={v.version} onCancel={() => setCreating(false)} />}
      {def.problem !== null && <ProblemView problem={def.problem} />}
      {v !== null && (
        <>
          <div class='card'>
            <h2>Diagram</h2>
            <Diagram machine={machine} version={v.version} />
          </div>
          <div class='grid-2'>
            <div class='card'>
              <h2>Definition <span class='muted small'>(normalized)</span></h2>
              <pre class='code'>{JSON.stringify(v.definition, null, 2)}</pre>
            </div>
            <div class='card'>
              <h2>Details</h2>
              <dl class='facts'>
                <dt>Checksum</dt><dd class='mono break'>{v.checksum}</dd>
                <dt>States</dt><dd>{v.definition.states.length}</dd>
                <dt>Transitions</dt><dd>{v.definition.transitions.length}</dd>
                <dt>Initial</dt><dd><span class='state'>{v.definition.initial}</span></dd>
              </dl>
            </div>
          </div>
        </>
      )}
    </section>
  )
}
