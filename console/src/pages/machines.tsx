import { api } from '../api.js'
import { paths } from '../router.js'
import { Link } from '../ui/link.js'
import { ProblemView } from '../ui/problem.js'
import { useResource } from '../ui/resource.js'

export interface MachineList { items: Array<{ machine: string, versions: number[] }> }

export function MachinesPage () {
  const list = useResource(async () => (await api<MachineList>('GET', '/v1/machines')).data, [])
  return (
    <section>
      <div class='page-head'>
        <h1>Machines</h1>
        <Link class='button primary' href={paths.newMachine()}>New machine</Link>
      </div>
      {list.problem !== null && <ProblemView problem={list.problem} />}
      {list.data !== null && list.data.items.length === 0 && (
        <div class='empty'>
          <p>No machines yet. A machine is a versioned state machine definition: states, an initial state and transitions.</p>
          <Link class='button primary' href={paths.newMachine()}>Create the first machine</Link>
        </div>
      )}
      {list.data !== null && list.data.items.length > 0 && (
        <div class='table-wrap'>
          <table>
            <thead><tr><th>Machine</th><th>Versions</th><th class='num'>Latest</th><th><span class='sr-only'>Actions</span></th></tr></thead>
            <tbody>
              {list.data.items.map((m) => {
                const latest = m.versions[m.versions.length - 1]
                return (
                  <tr key={m.machine}>
                    <td><Link class='mono strong' href={paths.version(m.machine, latest)}>{m.machine}</Link></td>
                    <td><div class='versions'>{m.versions.map((v) => <Link key={v} class='chip' href={paths.version(m.machine, v)}>v{v}</Link>)}</div></td>
                    <td class='num mono'>{latest}</td>
                    <td class='row-actions'><Link href={paths.instances({ machine: m.machine })}>Instances</Link></td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
