import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import openapiTS, { astToString } from 'openapi-typescript'
import t from 'tap'
import ts from 'typescript'
import { tempDir } from '../support/temp-dir.js'
import { ORDER_MACHINE, startGateway, stopGateway } from './helpers.js'

/**
 * A typed client generated from the committed document with openapi-typescript,
 * type-checked against a lifecycle program that uses it with openapi-fetch, then
 * run against the real server.
 */
const COMMITTED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../openapi/openapi.json')
const OPENAPI_FETCH = path.join(path.dirname(createRequire(import.meta.url).resolve('openapi-fetch')), 'index.mjs')

const LIFECYCLE = `
import createClient from ${JSON.stringify(OPENAPI_FETCH)}
import type { paths } from './schema.mjs'

export async function run (baseUrl: string): Promise<Record<string, unknown>> {
  const client = createClient<paths>({ baseUrl })
  const out: Record<string, unknown> = {}
  const put = await client.PUT('/v1/machines/{machine}/versions/{version}', {
    params: { path: { machine: 'order', version: 1 } },
    body: ${JSON.stringify(ORDER_MACHINE)},
  })
  out.put = { status: put.response.status, created: put.data?.created }
  const created = await client.POST('/v1/instances', { body: { machine: 'order', version: 1, instance_id: 'gen-1', initial_ctx: { blocked: true } } })
  out.create = { status: created.response.status, location: created.response.headers.get('location'), state: created.data?.state }
  const got = await client.GET('/v1/instances/{id}', { params: { path: { id: 'gen-1' } } })
  const etag = got.response.headers.get('etag') ?? ''
  const paid = await client.POST('/v1/instances/{id}/events', { params: { path: { id: 'gen-1' }, header: { 'if-match': etag } }, body: { event: 'PAY', payload: { amount: 10 } } })
  out.pay = { status: paid.response.status, to: paid.data?.to_state }
  const guard = await client.POST('/v1/instances/{id}/events', { params: { path: { id: 'gen-1' } }, body: { event: 'SHIP' } })
  out.guard = { status: guard.response.status, code: guard.error?.code }
  const invalid = await client.POST('/v1/instances/{id}/events', { params: { path: { id: 'gen-1' } }, body: { event: 'DELIVER' } })
  out.invalid = { status: invalid.response.status, code: invalid.error?.code }
  const conflict = await client.POST('/v1/instances/{id}/events', { params: { path: { id: 'gen-1' }, header: { 'if-match': etag } }, body: { event: 'CANCEL' } })
  out.conflict = { status: conflict.response.status, code: conflict.error?.code }
  const list = await client.GET('/v1/instances', { params: { query: { machine: 'order', limit: 10 } } })
  out.list = list.data?.instances.map(i => i.id)
  const after = await client.GET('/v1/instances/{id}', { params: { path: { id: 'gen-1' } } })
  out.get = { state: after.data?.state, ctx: after.data?.ctx }
  const del = await client.DELETE('/v1/instances/{id}', { params: { path: { id: 'gen-1' } } })
  out.delete = { status: del.response.status, deleted: del.data?.deleted }
  const wal = await client.GET('/v1/wal', { params: { query: { from_offset: 1, limit: 100 } } })
  out.wal = wal.data?.records.map(r => r.entry.type)
  return out
}
`

t.test('a generated client drives the whole lifecycle', async t => {
  const dir = tempDir(t, 'rstmdb-client-')
  const ast = await openapiTS(JSON.parse(readFileSync(COMMITTED, 'utf8')))
  writeFileSync(path.join(dir, 'schema.d.mts'), astToString(ast))
  const source = path.join(dir, 'lifecycle.mts')
  writeFileSync(source, LIFECYCLE)
  const program = ts.createProgram([source], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    outDir: dir,
  })
  const diagnostics = ts.getPreEmitDiagnostics(program).map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  t.same(diagnostics, [], 'the lifecycle type-checks against the generated types')
  program.emit()

  const server = await startGateway()
  t.teardown(() => stopGateway(server))
  const { run } = await import(pathToFileURL(path.join(dir, 'lifecycle.mjs')).href) as { run: (base: string) => Promise<any> }
  const out = await run(server.base)
  t.same(out.put, { status: 201, created: true })
  t.same(out.create, { status: 201, location: '/v1/instances/gen-1', state: 'created' })
  t.same(out.pay, { status: 200, to: 'paid' })
  t.same(out.guard, { status: 422, code: 'GUARD_FAILED' })
  t.same(out.invalid, { status: 422, code: 'INVALID_TRANSITION' })
  t.same(out.conflict, { status: 412, code: 'CONFLICT' })
  t.same(out.list, ['gen-1'])
  t.same(out.get, { state: 'paid', ctx: { blocked: true, amount: 10 } })
  t.same(out.delete, { status: 200, deleted: true })
  t.same(out.wal, ['put_machine', 'create_instance', 'apply_event', 'delete_instance'])
})
