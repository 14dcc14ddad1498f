import { Type } from 'typebox'
import { notFound, ProblemError } from '../../lib/errors.js'
import { Id, IdParams, Page } from '../../lib/schemas.js'
import type { App } from '../../lib/service.js'
import type { customers } from './customers.js'
import type { OrderCommand, orders } from './orders.js'

const Line = Type.Object(
  { sku: Id, quantity: Type.Integer({ minimum: 1 }), price: Type.Number({ minimum: 0 }) },
  { additionalProperties: false },
)

export function orderRoutes(app: App, book: ReturnType<typeof orders>, people: ReturnType<typeof customers>) {
  app.get('/customers', { schema: { querystring: Page } }, async (req) =>
    people.list(req.query.limit ?? 20, req.query.offset ?? 0),
  )
  app.get('/customers/:id', { schema: { params: IdParams } }, async (req) => {
    const c = await people.find(req.params.id)
    if (c === null) throw notFound(`Customer ${req.params.id}`)
    return c
  })
  app.put(
    '/customers/:id',
    {
      schema: {
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            email: Type.Optional(Type.String({ minLength: 3, maxLength: 200 })),
            phone: Type.Optional(Type.String({ minLength: 3, maxLength: 50 })),
            tier: Type.Optional(Type.Union([Type.Literal('standard'), Type.Literal('gold')])),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
      },
    },
    async (req) => people.update(req.params.id, req.body),
  )

  app.post(
    '/orders',
    {
      schema: {
        body: Type.Object(
          { orderId: Id, customerId: Id, items: Type.Array(Line, { minItems: 1, maxItems: 50 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const { orderId, ...command } = req.body
      return reply.code(201).send(await book.handle(orderId, { type: 'create', ...command }, req.id))
    },
  )
  // One route per lifecycle step; each records its event once, so the coordinator can repeat it safely.
  const step = (path: string, body: ReturnType<typeof Type.Object>, toCommand: (b: never) => OrderCommand) =>
    app.post(`/orders/:id/${path}`, { schema: { params: IdParams, body } }, async (req) =>
      book.handle(req.params.id, toCommand(req.body as never), req.id),
    )
  const empty = Type.Object({}, { additionalProperties: false })
  step('reserved', empty, () => ({ type: 'reserved' }))
  step(
    'paid',
    Type.Object({ paymentId: Id, amount: Type.Number({ minimum: 0 }) }, { additionalProperties: false }),
    (b: { paymentId: string; amount: number }) => ({ type: 'paid', ...b }),
  )
  const reason = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false })
  step('payment-failed', reason, (b: { reason: string }) => ({ type: 'payment-failed', reason: b.reason }))
  step(
    'shipped',
    Type.Object({ trackingNumber: Id }, { additionalProperties: false }),
    (b: { trackingNumber: string }) => ({ type: 'shipped', trackingNumber: b.trackingNumber }),
  )
  step('completed', empty, () => ({ type: 'completed' }))
  step('delivered', empty, () => ({ type: 'delivered' }))
  step('cancel', reason, (b: { reason: string }) => ({ type: 'cancel', reason: b.reason }))

  app.get(
    '/orders/:id',
    {
      schema: {
        params: IdParams,
        querystring: Type.Object({ asOf: Type.Optional(Type.String({ format: 'date-time' })) }),
      },
    },
    async (req) => book.get(req.params.id, req.query.asOf ? new Date(req.query.asOf) : undefined),
  )
  app.get('/orders/:id/history', { schema: { params: IdParams } }, async (req) => book.history(req.params.id))
  app.get(
    '/orders',
    {
      schema: {
        querystring: Type.Object({
          event: Type.Union([Type.Literal('PaymentFailed'), Type.Literal('OrderCancelled')]),
          from: Type.String({ format: 'date-time' }),
          to: Type.String({ format: 'date-time' }),
        }),
      },
    },
    async (req) => {
      const from = new Date(req.query.from)
      const to = new Date(req.query.to)
      if (!(from < to)) throw new ProblemError(400, 'validation', '`from` must be before `to`')
      await book.indexCaughtUp()
      return book.byEvent(req.query.event, from, to)
    },
  )
}
