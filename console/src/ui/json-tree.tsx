/** A JSON value as a collapsible tree (native <details>, so it is keyboard-usable); every key and value is text. */

function Leaf ({ value }: { value: unknown }) {
  if (value === null) return <span class='j-null'>null</span>
  if (typeof value === 'string') return <span class='j-str'>"{value}"</span>
  if (typeof value === 'number') return <span class='j-num'>{String(value)}</span>
  if (typeof value === 'boolean') return <span class='j-bool'>{String(value)}</span>
  return <span>{JSON.stringify(value)}</span>
}

function Node ({ name, value, depth }: { name: string | null, value: unknown, depth: number }) {
  const label = name === null ? null : <span class='j-key'>{name}</span>
  if (value === null || typeof value !== 'object') {
    return <div class='j-row'>{label}{label && ': '}<Leaf value={value} /></div>
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)
  const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`
  if (entries.length === 0) return <div class='j-row'>{label}{label && ': '}<span class='muted'>{Array.isArray(value) ? '[]' : '{}'}</span></div>
  return (
    <details class='j-node' open={depth < 2}>
      <summary>{label}{label && ' '}<span class='muted'>{summary}</span></summary>
      <div class='j-children'>
        {entries.map(([k, v]) => <Node key={k} name={k} value={v} depth={depth + 1} />)}
      </div>
    </details>
  )
}

export function JsonTree ({ value }: { value: unknown }) {
  return <div class='json-tree'><Node name={null} value={value} depth={0} /></div>
}
