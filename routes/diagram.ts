import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { GetDiagramParams } from '../protocol/schemas.js'
import { diagramEtag, type DiagramFormat } from '../src/diagram/index.js'
import type { RoutePluginOptions } from './context.js'
import { VersionOrLatestPath } from './machines.js'
import { problems } from './problem.js'
import { BEARER, IfNoneMatchHeader, NotModified, dispatch, etagMatches, pick } from './support.js'

const CONTENT_TYPES: Record<DiagramFormat, string> = {
  svg: 'image/svg+xml; charset=utf-8',
  mermaid: 'text/plain; charset=utf-8',
  dot: 'text/plain; charset=utf-8',
}

const DiagramQuery = pick(GetDiagramParams, ['format', 'highlight'])

/**
 * GET_DIAGRAM (console.md §1): the diagram itself is the body, so `curl -o` and
 * an `<img src>` work. The rendering depends only on the definition and the
 * options, so the ETag is the checksum plus the options and a revalidation that
 * matches answers 304.
 */
export const diagramRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app, { ctx }) => {
  app.get('/v1/machines/:machine/versions/:version/diagram', {
    config: { op: 'GET_DIAGRAM' },
    schema: {
      operationId: 'getMachineDiagram',
      summary: 'Draw a machine version (GET_DIAGRAM) as SVG, Mermaid or Graphviz DOT; `latest` names the highest version',
      tags: ['machines'],
      security: BEARER,
      params: VersionOrLatestPath,
      querystring: DiagramQuery,
      headers: IfNoneMatchHeader,
      response: {
        200: {
          description: 'the diagram: SVG laid out server-side, or Mermaid `stateDiagram-v2` / DOT source as plain text',
          content: {
            'image/svg+xml': { schema: Type.String() },
            'text/plain': { schema: Type.String({ examples: ['stateDiagram-v2\n    state "pending" as s0\n'] }) },
          },
        },
        ...NotModified,
        ...problems(400, 401, [404, 'MACHINE_NOT_FOUND'], 500, 503),
      },
    },
  }, async (request, reply) => {
    const { machine, version } = request.params as { machine: string, version: number | 'latest' }
    const { format = 'svg', highlight } = request.query as { format?: DiagramFormat, highlight?: string }
    const params = { machine, format, highlight, ...(version === 'latest' ? {} : { version }) }
    const result = await dispatch(ctx, reply, 'GET_DIAGRAM', params)
    // `latest` may name another version tomorrow: caches revalidate every time
    reply.header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff')
    if (etagMatches(request, reply, diagramEtag(result.checksum, { format, highlight }))) return await reply.code(304).send()
    // an SVG opened on its own is a document: it may style itself, nothing else
    if (format === 'svg') reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
    return await reply.type(CONTENT_TYPES[format]).send(result.content)
  })
}
