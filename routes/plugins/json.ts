import fp from 'fastify-plugin'
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import { RcpError } from '../../protocol/errors.js'

/**
 * JSON in and out as RCP has it. Bodies are validated by the dispatcher with the
 * protocol's own schemas, never coerced ("version":"1" is a 400 as on RCP); path,
 * query and headers are strings converted to their schema types. A success body is
 * the RCP result itself: nothing dropped or coerced by a schema-driven serializer.
 */
export const jsonPlugin = fp(async (app) => {
  app.setValidatorCompiler((route) => route.httpPart === 'body'
    ? (value: unknown) => ({ value })
    : TypeBoxValidatorCompiler(route as Parameters<typeof TypeBoxValidatorCompiler>[0]))
  app.setSerializerCompiler(() => (data: unknown) => JSON.stringify(data))

  app.removeContentTypeParser(['application/json', 'text/plain'])
  // plain JSON.parse, as RCP parses: a "__proto__" key is ordinary data on both faces (the engine never
  // assigns keys onto existing objects), not a reason to call a valid JSON body invalid
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    // routes with an optional body (snapshot, compact) accept an empty one
    if (body === '') return done(null, undefined)
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(new RcpError('BAD_REQUEST', 'request body is not valid JSON', { reason: 'invalid_json' }), undefined)
    }
  })
}, { name: 'rstmdb-json' })
