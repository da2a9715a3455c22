import { useEffect, useState } from 'preact/hooks'
import { api, asProblem, seg, type Problem } from '../api.js'
import { useFeature } from '../features.js'
import { JsonField, parseJsonObject } from './json-field.js'
import { JsonTree } from './json-tree.js'
import { ProblemView } from './problem.js'

/** history.md §4, or the same list worked out from the definition when the server lacks the route. */
export interface Transition { event: string, to: string, guard?: string, guard_passes?: boolean | null, taken?: boolean }

interface Definition { transitions: Array<{ from: string[], event: string, to: string, guard?: string }> }

/** The events the state accepts, in definition order (guards unevaluated: only the server can do that). */
export function transitionsFrom (definition: Definition, state: string): Transition[] {
  const out: Transition[] = []
  for (const t of definition.transitions) {
    if (!t.from.includes(state)) continue
    out.push({ event: t.event, to: t.to, ...(t.guard === undefined ? {} : { guard: t.guard }) })
  }
  return out
}

/** What the panel acts on: the instance as the page last saw it. */
export interface Target { instance_id: string, state: string, last_wal_offset: number }

interface Answer { from_state: string, to_state: string, wal_offset: number, ctx?: Record<string, unknown> }
type Outcome = { kind: 'applied' | 'preview', event: string, answer: Answer } | { kind: 'problem', dryRun: boolean, problem: Problem }

function GuardChip ({ t }: { t: Transition }) {
  if (t.guard === undefined) return null
  if (t.guard_passes === true) return <span class='chip ok' title={`guard: ${t.guard}`}>guard passes</span>
  if (t.guard_passes === false) return <span class='chip warn' title={`guard: ${t.guard}`}>guard fails</span>
  return <span class='chip' title={`guard: ${t.guard}`}>guarded</span>
}

/**
 * The transitions as buttons; the open one has a payload editor, a dry-run
 * preview (when the server lists dry_run) and apply. Both send `If-Match` with the
 * offset the page showed, so a page that is behind gets 412, never overwrites a
 * change it has not seen.
 */
export function TransitionsPanel ({ instance, transitions, readOnly, onApplied }: { instance: Target, transitions: Transition[], readOnly: boolean, onApplied: () => void }) {
  const hasDryRun = useFeature('dryRun')
  const [open, setOpen] = useState<number | null>(null)
  const [payload, setPayload] = useState('{}')
  const [busy, setBusy] = useState(false)
  const [outcome, setOutcome] = useState<Outcome | null>(null)
  // a preview describes the instance it was made on: once the instance moves it no longer holds
  useEffect(() => setOutcome((o) => o?.kind === 'applied' ? o : null), [instance.last_wal_offset])
  useEffect(() => setOpen(null), [instance.state])
  const parsed = parseJsonObject(payload)
  if (transitions.length === 0) return <p class='muted'>No transitions leave this state: it is final.</p>
  const chosen = open === null ? undefined : transitions[open]

  const send = async (event: string, dryRun: boolean): Promise<void> => {
    if (parsed.value === null) return
    setBusy(true)
    setOutcome(null)
    try {
      const body: Record<string, unknown> = { event }
      if (Object.keys(parsed.value).length > 0) body.payload = parsed.value
      const res = await api<Answer>('POST', `/v1/instances/${seg(instance.instance_id)}/events`, {
        json: body,
        query: dryRun ? { dry_run: true } : undefined,
        headers: { 'if-match': `"${instance.last_wal_offset}"` },
      })
      setOutcome({ kind: dryRun ? 'preview' : 'applied', event, answer: res.data })
      if (!dryRun) {
        setOpen(null)
        onApplied()
      }
    } catch (err) {
      setOutcome({ kind: 'problem', dryRun, problem: asProblem(err) })
    } finally {
      setBusy(false)
    }
  }

  return (
    <div class='transitions'>
      {readOnly && <p class='muted small read-only'>Showing the past: go back to now to apply an event.</p>}
      <div class='transition-buttons'>
        {transitions.map((t, i) => (
          <button
            key={`${t.event}-${i}`} type='button' disabled={readOnly} aria-expanded={open === i}
            class={open === i ? 'selected' : undefined} data-event={t.event} data-guard={t.guard_passes == null ? undefined : String(t.guard_passes)}
            onClick={() => { setOpen(open === i ? null : i); setOutcome(null) }}
          >
            <span class='mono'>{t.event}</span> <span class='muted'>→ {t.to}</span>
            <GuardChip t={t} />
            {t.taken === false && t.guard_passes !== false && <span class='chip' title='an earlier transition for this event is the one taken'>not taken</span>}
          </button>
        ))}
      </div>
      {chosen !== undefined && !readOnly && (
        <div class='apply'>
          {chosen.guard !== undefined && (
            <p class='small guard-line'>Guard <code class='break'>{chosen.guard}</code>
              {chosen.guard_passes != null && <span class={chosen.guard_passes ? 'ok-text' : 'error-text inline'}> {chosen.guard_passes ? 'passes' : 'fails'} on the current ctx</span>}
            </p>
          )}
          <JsonField label='Payload (merged into ctx)' value={payload} onInput={setPayload} error={parsed.error} rows={3} />
          <div class='actions'>
            {hasDryRun && <button type='button' disabled={busy || parsed.error !== null} onClick={() => { void send(chosen.event, true) }}>Preview (dry run)</button>}
            <button type='button' class='primary' disabled={busy || parsed.error !== null} onClick={() => { void send(chosen.event, false) }}>Apply {chosen.event}</button>
          </div>
        </div>
      )}
      {outcome?.kind === 'preview' && (
        <div class='preview' role='status' data-testid='preview'>
          <p><strong>Dry run:</strong> <code class='event'>{outcome.event}</code> would move <span class='state'>{outcome.answer.from_state}</span> → <span class='state'>{outcome.answer.to_state}</span>. Nothing was written.</p>
          {outcome.answer.ctx !== undefined && <><p class='small muted'>ctx after it:</p><JsonTree value={outcome.answer.ctx} /></>}
        </div>
      )}
      {outcome?.kind === 'applied' && (
        <p class='ok-text' role='status'>
          Applied: <span class='state'>{outcome.answer.from_state}</span> → <span class='state'>{outcome.answer.to_state}</span> at offset <span class='mono'>{outcome.answer.wal_offset}</span>
        </p>
      )}
      {outcome?.kind === 'problem' && (
        <ProblemView problem={outcome.problem}>
          {outcome.dryRun && <p>Dry run: this is what applying would answer. Nothing was written.</p>}
          {outcome.problem.status === 412 && (
            <p><strong>This instance changed since the page showed it.</strong> Nothing was applied. Check its new state, then try again.</p>
          )}
        </ProblemView>
      )}
    </div>
  )
}
