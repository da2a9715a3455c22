import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, api, asProblem, seg, type Problem } from '../api.js'
import { navigate, paths } from '../router.js'
import { JsonField, parseJsonObject } from '../ui/json-field.js'
import { Link } from '../ui/link.js'
import { ProblemView } from '../ui/problem.js'
import { getVersion } from './machine.js'

const TEMPLATE = {
  states: ['pending', 'paid', 'shipped', 'cancelled'],
  initial: 'pending',
  transitions: [
    { from: 'pending', event: 'PAY', to: 'paid', guard: 'ctx.amount > 0' },
    { from: 'paid', event: 'SHIP', to: 'shipped' },
    { from: ['pending', 'paid'], event: 'CANCEL', to: 'cancelled' },
  ],
}

type Check =
  | { state: 'idle' }
  | { state: 'checking' }
  | { state: 'valid', checksum: string }
  | { state: 'invalid', problem: Problem }

const VALIDATE_DELAY_MS = 300

/**
 * "New version" (and "New machine" when `machine` is null): a JSON editor that
 * validates as you type through POST /v1/machines/validate, then PUTs.
 */
export function EditorPage ({ machine }: { machine: string | null }) {
  const [name, setName] = useState(machine ?? '')
  const [version, setVersion] = useState('1')
  const [text, setText] = useState(machine === null ? JSON.stringify(TEMPLATE, null, 2) : '')
  // a new version waits for the latest one, so the number and the text are never a guess
  const [loaded, setLoaded] = useState(machine === null)
  const [check, setCheck] = useState<Check>({ state: 'idle' })
  const [saveProblem, setSaveProblem] = useState<Problem | null>(null)
  const [saving, setSaving] = useState(false)
  const parsed = parseJsonObject(text)
  const latestRequest = useRef(0)

  // a new version starts from the latest one
  useEffect(() => {
    if (machine === null) return
    setLoaded(false)
    getVersion(machine, 'latest').then((v) => {
      setVersion(String(v.version + 1))
      setText(JSON.stringify(v.definition, null, 2))
      setLoaded(true)
    }, (err: unknown) => {
      setSaveProblem(asProblem(err))
    })
  }, [machine])

  useEffect(() => {
    if (parsed.error !== null || text === '') {
      setCheck({ state: 'idle' })
      return
    }
    const mine = ++latestRequest.current
    setCheck({ state: 'checking' })
    const timer = setTimeout(() => {
      api<{ checksum: string }>('POST', '/v1/machines/validate', { json: parsed.value }).then(
        (a) => { if (mine === latestRequest.current) setCheck({ state: 'valid', checksum: a.data.checksum }) },
        (err: unknown) => { if (mine === latestRequest.current) setCheck({ state: 'invalid', problem: asProblem(err) }) }
      )
    }, VALIDATE_DELAY_MS)
    return () => clearTimeout(timer)
  }, [text])

  const versionNumber = /^\d+$/.test(version) ? Number(version) : NaN
  const canSave = name.trim() !== '' && versionNumber >= 1 && check.state === 'valid' && !saving

  const save = async (e: Event): Promise<void> => {
    e.preventDefault()
    if (!canSave) return
    setSaving(true)
    setSaveProblem(null)
    try {
      await api('PUT', `/v1/machines/${seg(name.trim())}/versions/${versionNumber}`, { json: parsed.value })
      navigate(paths.version(name.trim(), versionNumber))
    } catch (err) {
      setSaveProblem(err instanceof ApiError ? err.problem : asProblem(err))
      setSaving(false)
    }
  }

  return (
    <section>
      <nav class='crumbs' aria-label='Breadcrumb'>
        <Link href={paths.machines()}>Machines</Link>
        {machine !== null && <> / <Link class='mono' href={paths.machine(machine)}>{machine}</Link></>}
      </nav>
      <h1>{machine === null ? 'New machine' : <>New version of <span class='mono'>{machine}</span></>}</h1>
      {!loaded && (saveProblem === null ? <p class='muted'>Loading the latest version…</p> : <ProblemView problem={saveProblem} />)}
      {loaded && (
        <form class='editor' onSubmit={(e) => { void save(e) }}>
          <div class='row'>
            <label class='grow'>
              Machine name
              <input class='mono' value={name} readOnly={machine !== null} onInput={(e) => setName(e.currentTarget.value)} placeholder='order' required />
            </label>
            <label>
              Version
              <input class='mono narrow' inputMode='numeric' value={version} onInput={(e) => setVersion(e.currentTarget.value)} required />
            </label>
          </div>
          <JsonField id='definition' label='Definition (JSON)' value={text} onInput={setText} error={text === '' ? null : parsed.error} rows={18} />
          <div class='validation' aria-live='polite' data-state={check.state}>
            {check.state === 'checking' && <span class='muted'>Validating…</span>}
            {check.state === 'valid' && <span class='ok-text'>✓ Valid · checksum <code class='mono'>{check.checksum.slice(0, 16)}…</code></span>}
            {check.state === 'invalid' && <ProblemView problem={check.problem} />}
          </div>
          {saveProblem !== null && <ProblemView problem={saveProblem} />}
          <div class='actions'>
            <Link class='button' href={machine === null ? paths.machines() : paths.machine(machine)}>Cancel</Link>
            <button type='submit' class='primary' disabled={!canSave}>{machine === null ? 'Create machine' : `Save version ${version}`}</button>
          </div>
        </form>
      )}
    </section>
  )
}
