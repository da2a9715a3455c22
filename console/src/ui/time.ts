/** Unix ms or ISO time as local date and time, to the second. */
export function formatTime (value: number | string | undefined): string {
  if (value === undefined) return ''
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) return String(value)
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
}
