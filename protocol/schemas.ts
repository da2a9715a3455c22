/**
 * The RCP schemas (TypeBox, plain JSON Schema) and their validation: the one import
 * for the dispatcher, the faces, the Fastify routes and the OpenAPI document.
 */
export * from './schemas/common.js'
export * from './schemas/envelopes.js'
export * from './schemas/ops.js'
export * from './schemas/registry.js'
export * from './validate.js'
