import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { SERVER_VERSION } from '../../protocol/identity.js'

/** The document exactly as /openapi.json serves it and openapi/openapi.json stores it. */
export function openapiText (app: FastifyInstance): string {
  return `${JSON.stringify(app.swagger(), null, 2)}\n`
}

/**
 * The OpenAPI 3.1 document generated from the route schemas (http.md "OpenAPI"),
 * served as /openapi.json and /openapi.yaml, with Swagger UI at /docs.
 */
export const openapiPlugin = fp(async (app) => {
  await app.register(swagger, {
    // shared schemas keep their $id as their component name (components.schemas.Problem)
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'rstmdb HTTP gateway',
        version: SERVER_VERSION,
        description: 'REST, WebSocket and Server-Sent Events face of rstmdb, a state machine database. Every route runs the RCP operation ' +
          'named in its summary; bodies and results use the RCP field names; errors are application/problem+json.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      // the default gateway address; clients and Swagger UI can point the variables elsewhere
      servers: [{
        url: '{scheme}://{host}:{port}',
        description: 'an rstmdb gateway (http.bind_addr)',
        variables: {
          scheme: { default: 'http', enum: ['http', 'https'] },
          host: { default: '127.0.0.1' },
          port: { default: '8080' },
        },
      }],
      tags: [
        { name: 'machines', description: 'state machine definitions' },
        { name: 'instances', description: 'instances of a machine' },
        { name: 'events', description: 'events and batches' },
        { name: 'wal', description: 'write-ahead log and compaction' },
        { name: 'watch', description: 'subscriptions: WebSocket and Server-Sent Events' },
        { name: 'ops', description: 'info, health and metrics' },
      ],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  let documentJson: string | null = null
  const document = (): string => (documentJson ??= openapiText(app))
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => {
    return await reply.type('application/json').send(document())
  })
  app.get('/openapi.yaml', { schema: { hide: true } }, async (_request, reply) => {
    return await reply.type('application/yaml').send(app.swagger({ yaml: true }))
  })
}, { name: 'rstmdb-openapi' })
