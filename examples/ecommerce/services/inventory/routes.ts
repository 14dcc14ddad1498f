import { Type } from 'typebox'
import { notFound } from '../../lib/errors.js'
import { Id, IdParams, Items, Key, KeyParams, Page } from '../../lib/schemas.js'
import type { App } from '../../lib/service.js'
import type { catalog } from './catalog.js'

export function inventoryRoutes(app: App, shop: ReturnType<typeof catalog>, statistics: () => Promise<unknown>) {
  app.get('/products', { schema: { querystring: Page } }, async (req) =>
    shop.list(req.query.limit ?? 20, req.query.offset ?? 0),
  )
  app.get('/products/:id', { schema: { params: IdParams } }, async (req) => {
    const product = await shop.find(req.params.id)
    if (product === null) throw notFound(`Product ${req.params.id}`)
    return product
  })
  app.put(
    '/products/:id',
    {
      schema: {
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            price: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 })),
            category: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
      },
    },
    async (req) => shop.update(req.params.id, req.body),
  )
  app.post(
    '/products/:id/adjustments',
    {
      schema: {
        params: IdParams,
        body: Type.Object(
          {
            quantity: Type.Integer({ minimum: -100_000, maximum: 100_000 }),
            reason: Type.String({ minLength: 1, maxLength: 200 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => shop.adjust(req.params.id, req.body.quantity, req.body.reason),
  )
  app.post(
    '/reservations',
    { schema: { body: Type.Object({ key: Key, orderId: Id, items: Items }, { additionalProperties: false }) } },
    async (req, reply) => reply.code(201).send(await shop.reserve(req.body.key, req.body.orderId, req.body.items)),
  )
  app.post('/reservations/:key/release', { schema: { params: KeyParams } }, async (req) => shop.release(req.params.key))
  app.post('/reservations/:key/sell', { schema: { params: KeyParams } }, async (req) => shop.sell(req.params.key))
  app.get('/inventory/statistics', async () => statistics())
}
