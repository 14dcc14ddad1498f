import { parseDuration } from 'bulwark'
import { Type } from 'typebox'
import { breakerFor } from '../../lib/breakers.js'
import { cacheFor } from '../../lib/caches.js'
import { injectedFaultFields, registerFaults } from '../../lib/faults.js'
import { readRuntime } from '../../lib/runtime.js'
import { Id, Key } from '../../lib/schemas.js'
import { runService } from '../../lib/service.js'
import { openStores } from '../../lib/stores.js'
import { notifications, seedTemplates } from './notifications.js'

const rt = readRuntime('notification')
await runService(rt, async ({ app, log, metrics }) => {
  const stores = await openStores(rt, metrics)
  if ((await stores.docs.count('templates')) === 0)
    await stores.docs.putMany(
      'templates',
      seedTemplates.map((t) => [t.id, t] as const),
    )
  const templates = await cacheFor(rt, 'templates')
  const channelBreaker = breakerFor(rt.config, 'notification', 'notification-channel')
  const channel = { latencyMs: 0, errorRate: 0 }
  const outbox = notifications(stores.docs, templates, rt.config.cacheTable.templates.ttl, channelBreaker, channel, log)
  registerFaults(app)

  app.post(
    '/notifications',
    {
      schema: {
        body: Type.Object(
          {
            key: Key,
            orderId: Id,
            template: Id,
            to: Type.String({ minLength: 3, maxLength: 200 }),
            vars: Type.Record(Type.String(), Type.String({ maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const n = await outbox.send(req.body)
      return reply.code(n.status === 'sent' ? 201 : 202).send(n)
    },
  )
  app.get('/notifications', { schema: { querystring: Type.Object({ orderId: Id }) } }, async (req) =>
    outbox.byOrder(req.query.orderId),
  )
  app.get('/templates/:id', { schema: { params: Type.Object({ id: Id }) } }, async (req) =>
    outbox.template(req.params.id),
  )
  app.put(
    '/templates/:id',
    {
      schema: {
        params: Type.Object({ id: Id }),
        body: Type.Object(
          {
            channel: Type.Union([Type.Literal('email'), Type.Literal('sms')]),
            subject: Type.String({ maxLength: 200 }),
            body: Type.String({ minLength: 1, maxLength: 5000 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => outbox.putTemplate({ id: req.params.id, ...req.body }),
  )
  app.post('/templates/refresh', async () => {
    await outbox.refreshTemplates()
    return { refreshed: true }
  })
  app.get('/channel', async () => channel)
  app.put(
    '/channel',
    {
      schema: {
        body: Type.Object(
          {
            ...injectedFaultFields,
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => Object.assign(channel, req.body),
  )

  // The queue worker: queued notifications are delivered once the channel (and its breaker) is back.
  let draining = Promise.resolve()
  const every = parseDuration(rt.config.settings.notification.retryQueuedEvery as never, 'retryQueuedEvery')
  const worker = setInterval(() => {
    draining = draining.then(() => outbox.drainQueue()).catch((error) => log.warn({ err: error }, 'queue pass failed'))
  }, every)
  worker.unref()
  return {
    breakers: [channelBreaker],
    caches: { templates },
    ready: () => stores.ping(),
    close: async () => {
      clearInterval(worker)
      await draining
      await templates.close()
      await stores.close()
    },
  }
})
