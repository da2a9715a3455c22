import fp from 'fastify-plugin'
import type { TSchema } from '@sinclair/typebox'
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import { RcpError } from '../../protocol/errors.js'

/** an integer as a query, path or header value is written as one */
const INTEGER_TEXT = /^-?\d+$/

/** The integer members of a query, path or header schema (always a flat object). */
function integerKeys (schema: TSchema | undefined): string[] {
  const properties: Record<string, TSchema> = schema?.properties ?? {}
  return Object.keys(properties).filter(key => properties[key].type === 'integer')
}

type Compile = Parameters<typeof TypeBoxValidatorCompiler>[0]

/**
 * TypeBox's conversion, except that it would read "1.5", "1e3" or "true" as an integer
 * (parseInt): such a value is refused with the same error as any other non-integer.
 */
function strictConversion (route: Compile) {
  const convert = TypeBoxValidatorCompiler(route)
  const integers = integerKeys(route.schema)
  return (value: unknown) => {
    for (const key of integers) {
      const raw = (value as Record<string, unknown> | null)?.[key]
      if (typeof raw === 'string' && !INTEGER_TEXT.test(raw)) {
        return { error: [{ message: 'Expected integer', instancePath: `/${key}`, keyword: 'type', schemaPath: `#/properties/${key}/type`, params: { type: 'integer' } }] }
      }
    }
    const converted = convert(value)
    // headers are converted in place: handing the same object back would make Fastify keep it as
    // extra headers and copy every header on each later read of request.headers
    if (route.httpPart === 'headers' && typeof converted === 'object' && 'value' in converted && converted.value === value) return {}
    return converted
  }
}

/**
 * JSON in and out as RCP has it. Bodies are validated by the dispatcher with the
 * protocol's own schemas, never coerced ("version":"1" is a 400 as on RCP); path,
 * query and headers are strings converted to their schema types. A success body is
 * the RCP result itself: nothing dropped or coerced by a schema-driven serializer.
 */
export const jsonPlugin = fp(async (app) => {
  app.setValidatorCompiler((route) => route.httpPart === 'body'
    ? (value: unknown) => ({ value })
    : strictConversion(route as Compile))
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
