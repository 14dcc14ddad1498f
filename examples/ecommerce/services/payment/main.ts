import { Type } from 'typebox'
import { breakerFor } from '../../lib/breakers.js'
import { injectedFaultFields, registerFaults, startupFaults } from '../../lib/faults.js'
import { readRuntime } from '../../lib/runtime.js'
import { Id, Key } from '../../lib/schemas.js'
import { runService } from '../../lib/service.js'
import { openStores } from '../../lib/stores.js'
import { simulatedGateway } from './gateway.js'
import { payments } from './payments.js'

const rt = readRuntime('payment')
await runService(rt, async ({ app, metrics }) => {
  const stores = await openStores(rt, metrics)
  const gatewayBreaker = breakerFor(rt.config, 'gateway', 'payment-gateway')
  const gateway = simulatedGateway({ ...rt.config.settings.gateway, declineRate: 0, ...startupFaults().gateway })
  const book = payments(stores.events, gateway, gatewayBreaker)
  registerFaults(app)

  const OrderParams = Type.Object({ orderId: Id })
  app.post(
    '/payments/authorize',
    {
      schema: {
        body: Type.Object(
          { key: Key, orderId: Id, amount: Type.Number({ exclusiveMinimum: 0, maximum: 10_000_000 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => reply.code(201).send(await book.authorize(req.body.key, req.body.orderId, req.body.amount)),
  )
  app.post('/payments/:orderId/capture', { schema: { params: OrderParams } }, async (req) =>
    book.capture(req.params.orderId),
  )
  app.post('/payments/:orderId/void', { schema: { params: OrderParams } }, async (req) => book.void(req.params.orderId))
  app.post('/payments/:orderId/refund', { schema: { params: OrderParams } }, async (req) =>
    book.refund(req.params.orderId),
  )
  app.get('/payments/:orderId', { schema: { params: OrderParams } }, async (req) => book.get(req.params.orderId))
  app.get('/gateway', async () => gateway.settings)
  app.put(
    '/gateway',
    {
      schema: {
        body: Type.Object(
          {
            ...injectedFaultFields,
            declineRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => Object.assign(gateway.settings, req.body),
  )
  return {
    breakers: [gatewayBreaker],
    caches: {},
    ready: () => stores.ping(),
    close: () => stores.close(),
  }
})
