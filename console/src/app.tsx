import { useEffect } from 'preact/hooks'
import { signOut, token } from './api.js'
import { paths, useRoute, type Route } from './router.js'
import { useStore } from './store.js'
import { Link } from './ui/link.js'
import { SignIn } from './pages/sign-in.js'
import { MachinesPage } from './pages/machines.js'
import { MachinePage, VersionPage } from './pages/machine.js'
import { EditorPage } from './pages/editor.js'
import { InstancesPage } from './pages/instances.js'
import { InstancePage } from './pages/instance.js'
import { EventsPage } from './pages/events.js'
import { ServerPage } from './pages/server.js'

const NAV: Array<{ href: string, label: string, pages: Array<Route['page']> }> = [
  { href: paths.machines(), label: 'Machines', pages: ['machines', 'machine', 'version', 'new-version'] },
  { href: paths.instances(), label: 'Instances', pages: ['instances', 'instance'] },
  { href: paths.events(), label: 'Events', pages: ['events'] },
  { href: paths.server(), label: 'Server', pages: ['server'] },
]

function titleOf (route: Route): string {
  switch (route.page) {
    case 'machines': return route.creating ? 'New machine' : 'Machines'
    case 'machine': return route.machine
    case 'version': return `${route.machine} v${route.version}`
    case 'new-version': return `New version of ${route.machine}`
    case 'instances': return 'Instances'
    case 'instance': return route.id
    case 'events': return 'Events'
    case 'server': return 'Server'
    case 'not-found': return 'Not found'
  }
}

function Page ({ route }: { route: Route }) {
  switch (route.page) {
    case 'machines': return route.creating ? <EditorPage machine={null} /> : <MachinesPage />
    case 'machine': return <MachinePage machine={route.machine} />
    case 'version': return <VersionPage machine={route.machine} version={route.version} />
    case 'new-version': return <EditorPage machine={route.machine} />
    case 'instances': return <InstancesPage machine={route.machine} state={route.state} after={route.after} />
    case 'instance': return <InstancePage id={route.id} at={route.at} />
    case 'events': return <EventsPage />
    case 'server': return <ServerPage />
    case 'not-found': return (
      <section>
        <h1>Page not found</h1>
        <p>Nothing lives at <code>{route.path}</code>. <Link href={paths.machines()}>Go to machines</Link>.</p>
      </section>
    )
  }
}

export function App () {
  const route = useRoute()
  const signedIn = useStore(token) !== null
  useEffect(() => { document.title = `${titleOf(route)} · rstmdb` }, [route])
  return (
    <div class='shell'>
      <a class='skip' href='#main'>Skip to content</a>
      <header class='sidebar'>
        <Link class='brand' href={paths.machines()}><span class='logo' aria-hidden='true' />rstmdb</Link>
        <nav aria-label='Main'>
          {NAV.map((item) => (
            <Link key={item.href} href={item.href} aria-current={item.pages.includes(route.page) ? 'page' : undefined}>{item.label}</Link>
          ))}
        </nav>
        {signedIn && <button type='button' class='link sign-out' onClick={signOut}>Sign out</button>}
      </header>
      <main id='main' tabIndex={-1}>
        <Page route={route} />
      </main>
      <SignIn />
    </div>
  )
}
