import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'
import { call, startGateway, stopGateway } from './helpers.js'

/** dist/test/http → openapi/openapi.json at the repository root */
const COMMITTED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../openapi/openapi.json')

const server = await startGateway()
t.teardown(() => stopGateway(server))

t.test('the committed document is byte for byte what the server serves', async t => {
  const served = await call(server.base, 'GET', '/openapi.json')
  t.equal(served.status, 200)
  t.match(served.headers.get('content-type'), /^application\/json/)
  t.equal(served.text, readFileSync(COMMITTED, 'utf8'), 'openapi/openapi.json is stale: run `npm run openapi`')
})

t.test('document content', async t => {
  const doc = JSON.parse(readFileSync(COMMITTED, 'utf8'))
  t.equal(doc.openapi, '3.1.0')
  t.same(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer' })
  const ids = new Set<string>()
  const tags = new Set(['machines', 'instances', 'events', 'wal', 'watch', 'ops'])
  for (const [route, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const where = `${method.toUpperCase()} ${route}`
      t.match(op.operationId, /^[a-z][a-zA-Z]+$/, `${where} operationId is camelCase`)
      t.notOk(ids.has(op.operationId), `${where} operationId is unique`)
      ids.add(op.operationId)
      t.ok(typeof op.summary === 'string' && op.summary.length > 0, `${where} summary`)
      t.ok(op.tags.length === 1 && tags.has(op.tags[0]), `${where} tag`)
      if (route.startsWith('/v1/')) {
        t.same(op.security, [{ bearerAuth: [] }], `${where} bearerAuth`)
        t.ok(op.responses['401'] !== undefined, `${where} documents 401`)
        t.equal(op.responses['401'].content['application/problem+json'].schema.$ref, '#/components/schemas/Problem')
      }
    }
  }
  for (const id of ['applyEvent', 'createInstance', 'putMachineVersion', 'readWal', 'watch', 'batch', 'getInfo']) t.ok(ids.has(id), id)
  t.same(doc.paths['/v1/instances/{id}/events'].post.requestBody.content['application/json'].schema.properties.event.examples, ['PAY'])
  t.ok(doc.paths['/v1/instances/{id}/events'].post.responses['412'])
})

t.test('YAML and Swagger UI', async t => {
  const yaml = await call(server.base, 'GET', '/openapi.yaml')
  t.equal(yaml.status, 200)
  t.same(parse(yaml.text), JSON.parse(readFileSync(COMMITTED, 'utf8')))
  const docs = await call(server.base, 'GET', '/docs/')
  t.equal(docs.status, 200)
  t.match(docs.text, /swagger-ui/i)
})
