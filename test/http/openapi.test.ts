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
      t.ok(Array.isArray(op.security), `${where} declares its security`)
      if (route.startsWith('/v1/')) {
        t.same(op.security, [{ bearerAuth: [] }], `${where} bearerAuth`)
        t.ok(op.responses['401'] !== undefined, `${where} documents 401`)
        t.equal(op.responses['401'].content['application/problem+json'].schema.$ref, '#/components/schemas/Problem')
      }
    }
  }
  for (const id of ['applyEvent', 'createInstance', 'putMachineVersion', 'readWal', 'watch', 'batch', 'getInfo']) t.ok(ids.has(id), id)
  t.same(doc.paths['/v1/instances/{id}/events'].post.requestBody.content['application/json'].examples.pay.value, { event: 'PAY', payload: { amount: 5 } })
  t.ok(doc.paths['/v1/instances/{id}/events'].post.responses['412'])
})

/** Status → the codes it may carry (http.md "Errors"), besides framework answers with BAD_REQUEST. */
const CODES_OF_STATUS: Record<string, string[]> = {
  400: ['BAD_REQUEST'],
  401: ['UNAUTHORIZED', 'AUTH_FAILED'],
  403: ['UNAUTHORIZED'],
  404: ['NOT_FOUND', 'MACHINE_NOT_FOUND', 'INSTANCE_NOT_FOUND'],
  409: ['MACHINE_VERSION_EXISTS', 'INSTANCE_EXISTS', 'CONFLICT'],
  412: ['CONFLICT'],
  413: ['BAD_REQUEST'],
  415: ['BAD_REQUEST'],
  422: ['INVALID_TRANSITION', 'GUARD_FAILED', 'MACHINE_VERSION_LIMIT_EXCEEDED', 'CONFLICT'],
  426: ['BAD_REQUEST'],
  429: ['RATE_LIMITED'],
  500: ['INTERNAL_ERROR'],
  503: ['WAL_IO_ERROR'],
}

t.test('Swagger UI "Try it out" sends nothing the user did not type, and examples match their status', async t => {
  const doc = JSON.parse((await call(server.base, 'GET', '/openapi.json')).text)
  let parameters = 0
  let errors = 0
  for (const [route, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const where = `${method.toUpperCase()} ${route}`
      for (const p of op.parameters ?? []) {
        parameters++
        // Swagger UI fills a parameter's input from any of these
        const prefill = ['example', 'examples', 'default'].filter(k => k in p || k in (p.schema ?? {}) ||
          (p.schema?.anyOf ?? []).some((s: object) => k in s))
        t.same(prefill, [], `${where} ${p.in} ${p.name} is not pre-filled`)
      }
      const body = op.requestBody?.content?.['application/json']
      if (body !== undefined) {
        t.ok(body.examples !== undefined && Object.keys(body.examples).length > 0, `${where} body has named examples`)
        t.notOk('example' in body, `${where} body has no unnamed example`)
      }
      for (const [status, response] of Object.entries<any>(op.responses)) {
        const problem = response.content?.['application/problem+json']
        if (problem === undefined) continue
        errors++
        t.equal(problem.example?.status, Number(status), `${where} ${status} example has its own status`)
        t.ok(CODES_OF_STATUS[status]?.includes(problem.example?.code), `${where} ${status} example code ${String(problem.example?.code)} maps to ${status}`)
      }
    }
  }
  t.ok(parameters > 10 && errors > 50, 'every operation was looked at')
  t.same(doc.servers.map((s: any) => s.variables.port.default), ['8080'], 'servers: the default gateway address')
})

t.test('YAML and Swagger UI', async t => {
  const yaml = await call(server.base, 'GET', '/openapi.yaml')
  t.equal(yaml.status, 200)
  t.same(parse(yaml.text), JSON.parse(readFileSync(COMMITTED, 'utf8')))
  const docs = await call(server.base, 'GET', '/docs/')
  t.equal(docs.status, 200)
  t.match(docs.text, /swagger-ui/i)
})
