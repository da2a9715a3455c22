import type { ComponentChildren } from 'preact'
import type { Problem } from '../api.js'

interface FieldError { field?: unknown, message?: unknown, guard?: unknown, position?: unknown }

/** A guard with a caret under the character the server pointed at. */
function GuardPointer ({ guard, position }: { guard: string, position: number }) {
  return (
    <pre class='guard-pointer' aria-label={`guard, error at character ${position}`}>
      {guard}{'\n'}{' '.repeat(Math.max(0, position))}^
    </pre>
  )
}

/** One error of `details.errors` (VALIDATE_MACHINE): its field, message, and the guard position when there is one. */
export function FieldErrorRow ({ error }: { error: FieldError }) {
  return (
    <li>
      <code class='field'>{String(error.field ?? '(definition)')}</code> <span>{String(error.message ?? '')}</span>
      {typeof error.guard === 'string' && typeof error.position === 'number' && <GuardPointer guard={error.guard} position={error.position} />}
    </li>
  )
}

/** The server's problem+json, as the user sees it: title, detail, code and status. */
export function ProblemView ({ problem, children }: { problem: Problem, children?: ComponentChildren }) {
  const errors = Array.isArray(problem.details?.errors) ? problem.details.errors as FieldError[] : []
  return (
    <div class='problem' role='alert'>
      <div class='problem-head'>
        <strong>{problem.title}</strong>
        <code class='chip'>{problem.code}</code>
        {problem.status > 0 && <span class='muted'>HTTP {problem.status}</span>}
      </div>
      {problem.detail !== '' && <p>{problem.detail}</p>}
      {errors.length > 0 && <ul class='field-errors'>{errors.map((e, i) => <FieldErrorRow key={i} error={e} />)}</ul>}
      {children}
    </div>
  )
}
