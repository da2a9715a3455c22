import { useEffect, useState } from 'preact/hooks'
import { apiBlob, seg } from '../api.js'
import { FEATURES, useInfo } from '../features.js'
import { useResource } from './resource.js'
import { ProblemView } from './problem.js'

/**
 * A machine's diagram from GET …/diagram, drawn as an <img> of the SVG blob: the
 * request carries the token, and an image cannot run anything it contains.
 */
export function Diagram (props: { machine: string, version: number | string, highlight?: string }) {
  // drawn while INFO is on its way; a server that answers without the extension gets a note, not a 404
  const info = useInfo()
  if (info !== null && !info.features.includes(FEATURES.diagram)) return <p class='muted'>This server does not draw diagrams (the diagram extension is not listed in INFO features).</p>
  return <DiagramImage {...props} />
}

function DiagramImage ({ machine, version, highlight }: { machine: string, version: number | string, highlight?: string }) {
  const svg = useResource(async () => await apiBlob(`/v1/machines/${seg(machine)}/versions/${seg(version)}/diagram`, { format: 'svg', highlight }), [machine, version, highlight])
  const [url, setUrl] = useState<string | null>(null)
  // fitted to the page by default; big machines read better at their own size, scrolled
  const [fit, setFit] = useState(true)
  useEffect(() => {
    if (svg.data === null) return
    const next = URL.createObjectURL(svg.data)
    setUrl(next)
    return () => URL.revokeObjectURL(next)
  }, [svg.data])
  if (svg.problem !== null) return <ProblemView problem={svg.problem} />
  return (
    <div class='diagram-box'>
      <div class={`diagram${fit ? ' fit' : ''}`} data-loading={svg.loading ? 'true' : 'false'}>
        {url !== null && <img src={url} alt={`State diagram of ${machine} version ${version}${highlight === undefined ? '' : `, ${highlight} highlighted`}`} />}
      </div>
      <button type='button' class='link small' aria-pressed={!fit} onClick={() => setFit(!fit)}>{fit ? 'Actual size' : 'Fit to width'}</button>
    </div>
  )
}
