import { parseDuration } from 'bulwark'
import { Type } from 'typebox'
import { breakerFor } from '../../lib/breakers.js'
import { registerFaults } from '../../lib/faults.js'
import { serviceClient } from '../../lib/http-client.js'
import { readRuntime } from '../../lib/runtime.js'
import { Id, Key } from '../../lib/schemas.js'
import { runService } from '../../lib/service.js'
import { openStores } from '../../lib/stores.js'
import { shipments } from './shipments.js'

const rt = readRuntime('shipping')
await runService(rt, async ({ app, log, metrics }) => {
  const stores = await openStores(rt, metrics)
  const orderBreaker = breakerFor(rt.config, 'database', 'order')
  const order = serviceClient('order', rt.urls.order, orderBreaker, rt.config)
  const delay = parseDuration(rt.config.settings.carrier.deliveryDelay as never, 'carrier.deliveryDelay')
  const book = shipments(
    stores.events,
    stores.docs,
    delay,
    async (orderId) => {
      await order.post(`/orders/${orderId}/delivered`, {}, { idempotent: true })
    },
    log,
  )
  await book.resumeCarrier()
  registerFaults(app)

  app.post(
    '/shipments',
    { schema: { body: Type.Object({ key: Key, orderId: Id }, { additionalProperties: false }) } },
    async (req, reply) => reply.code(201).send(await book.create(req.body.orderId)),
  )
  app.get('/shipments/:orderId', { schema: { params: Type.Object({ orderId: Id }) } }, async (req) =>
    book.get(req.params.orderId),
  )
  return {
    breakers: [orderBreaker],
    caches: {},
    ready: () => stores.ping(),
    close: async () => {
      book.stop()
      await order.close()
      await stores.close()
    },
  }
})
