import { Type } from 'typebox'

/** Schemas several services share. */
export const Id = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' })
export const Key = Type.String({ minLength: 1, maxLength: 200 })
export const Items = Type.Array(
  Type.Object({ sku: Id, quantity: Type.Integer({ minimum: 1, maximum: 1000 }) }, { additionalProperties: false }),
  { minItems: 1, maxItems: 50 },
)
export const Page = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
})
export const IdParams = Type.Object({ id: Id })
export const KeyParams = Type.Object({ key: Key })
