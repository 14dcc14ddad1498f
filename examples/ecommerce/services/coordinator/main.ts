import { createSagaOrchestrator } from 'bulwark/saga'
import { breakerFor } from '../../lib/breakers.js'
import { dependencyBreaker } from '../../lib/config.js'
import { serviceClient } from '../../lib/http-client.js'
import { readRuntime } from '../../lib/runtime.js'
import { runService } from '../../lib/service.js'
import { openStores } from '../../lib/stores.js'
import { ordersApi } from './orders-api.js'
import { type Clients, placeOrderSaga } from './place-order.js'

const rt = readRuntime('coordinator')
await runService(rt, async ({ app, log, metrics }) => {
  const stores = await openStores(rt, metrics)
  // One client per dependency, each with the breaker of its row in the breaker table.
  const clients = Object.fromEntries(
    (Object.keys(dependencyBreaker) as (keyof typeof dependencyBreaker)[]).map((name) => [
      name,
      serviceClient(name, rt.urls[name], breakerFor(rt.config, dependencyBreaker[name], name), rt.config),
    ]),
  ) as unknown as Clients
  const saga = placeOrderSaga(clients, rt.config.settings.saga.deadline)
  const orchestrator = createSagaOrchestrator({
    store: stores.events,
    sagas: [saga],
    compensationRetry: rt.config.settings.saga.compensationRetry as never,
  })
  ordersApi(app, orchestrator, saga, clients, rt.config.settings.syncReplyWithin)

  // At boot: every saga a crash interrupted is driven on (in the background; /ready waits for it).
  let recovered = false
  const recovery = orchestrator.recover().then(
    (r) => {
      recovered = true
      log.info({ resumed: r.resumed, parked: r.parked, failed: r.failed }, 'saga recovery done')
    },
    (error) => log.error({ err: error }, 'saga recovery failed'),
  )
  return {
    breakers: Object.values(clients).map((c) => c.breaker),
    caches: {},
    ready: async () => {
      await stores.ping()
      if (!recovered) throw new Error('saga recovery is still running')
    },
    close: async () => {
      await orchestrator.close()
      await recovery
      for (const c of Object.values(clients)) await c.close()
      await stores.close()
    },
  }
})
