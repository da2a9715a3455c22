/** A JSON text area that says where the text stops being JSON, as the user types. */

export interface Parsed<T> { value: T | null, error: string | null }

/** "Unexpected token } in JSON at position 12" → line and column, when the engine gives a position. */
function located (text: string, message: string): string {
  const m = /position (\d+)/.exec(message)
  if (m === null) return message
  const before = text.slice(0, Number(m[1]))
  const line = before.split('\n').length
  const column = before.length - before.lastIndexOf('\n')
  return `${message.replace(/\s*\(line \d+ column \d+\)/, '')} (line ${line}, column ${column})`
}

export function parseJson (text: string): Parsed<unknown> {
  try {
    return { value: JSON.parse(text), error: null }
  } catch (err) {
    return { value: null, error: located(text, (err as Error).message) }
  }
}

export function parseJsonObject (text: string): Parsed<Record<string, unknown>> {
  const parsed = parseJson(text)
  if (parsed.error !== null) return { value: null, error: parsed.error }
  const v = parsed.value
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { value: null, error: 'must be a JSON object: { … }' }
  return { value: v as Record<string, unknown>, error: null }
}

export function JsonField ({ label, value, onInput, error, rows = 6, id }: { label: string, value: string, onInput: (v: string) => void, error: string | null, rows?: number, id?: string }) {
  return (
    <label class='json-field'>
      {label}
      <textarea id={id} class='mono' rows={rows} spellcheck={false} value={value} aria-invalid={error !== null} onInput={(e) => onInput(e.currentTarget.value)} />
      {error !== null && <span class='error-text'>Invalid JSON: {error}</span>}
    </label>
  )
}
