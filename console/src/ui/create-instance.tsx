import { useState } from 'preact/hooks'
import { ApiError, api, asProblem, type Problem } from '../api.js'
import { navigate, paths } from '../router.js'
import { JsonField, parseJsonObject } from './json-field.js'
import { ProblemView } from './problem.js'

/** POST /v1/instances for one machine version, then the new instance's page. */
export function CreateInstance ({ machine, version, onCancel }: { machine: string, version: number, onCancel: () => void }) {
  const [id, setId] = useState('')
  const [ctx, setCtx] = useState('{}')
  const [problem, setProblem] = useState<Problem | null>(null)
  const [busy, setBusy] = useState(false)
  const parsed = parseJsonObject(ctx)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    if (parsed.error !== null) return
    setBusy(true)
    setProblem(null)
    try {
      const body: Record<string, unknown> = { machine, version, initial_ctx: parsed.value }
      if (id.trim() !== '') body.instance_id = id.trim()
      const created = await api<{ instance_id: string }>('POST', '/v1/instances', { json: body })
      navigate(paths.instance(created.data.instance_id))
    } catch (err) {
      setProblem(err instanceof ApiError ? err.problem : asProblem(err))
      setBusy(false)
    }
  }
  return (
    <form class='card form' onSubmit={(e) => { void submit(e) }} aria-label='New instance'>
      <h2>New instance of <span class='mono'>{machine}</span> v{version}</h2>
      <label>
        Instance id <span class='muted small'>(optional: a UUID is generated)</span>
        <input value={id} onInput={(e) => setId(e.currentTarget.value)} placeholder='order-001' class='mono' />
      </label>
      <JsonField label='Initial ctx' value={ctx} onInput={setCtx} error={parsed.error} rows={4} />
      {problem !== null && <ProblemView problem={problem} />}
      <div class='actions'>
        <button type='button' onClick={onCancel}>Cancel</button>
        <button type='submit' class='primary' disabled={busy || parsed.error !== null}>Create instance</button>
      </div>
    </form>
  )
}
