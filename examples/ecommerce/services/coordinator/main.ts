import { hostname } from 'node:os'
import { isBulwarkError, parseDuration } from 'bulwark'
import { createSagaOrchestrator } from 'bulwark/saga'
import { breakerFor } from '../../lib/breakers.js'
import { dependencyBreaker } from '../../lib/config.js'
import { serviceClient } from '../../lib/http-client.js'
import { readRuntime } from '../../lib/runtime.js'
import { runService } from '../../lib/service.js'
import { openStores } from '../../lib/stores.js'
import { ordersApi } from './orders-api.js'
import { type Clients, placeOrderSaga } from './place-order.js'
import { sagaFeed } from './saga-feed.js'

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
  const { lease } = rt.config.settings.saga
  const orchestrator = createSagaOrchestrator({
    store: stores.events,
    sagas: [saga],
    compensationRetry: rt.config.settings.saga.compensationRetry as never,
    lease,
    // Stable across restarts of this replica and unique among the live ones (replicas of one stack differ by
    // number, stacks sharing a database by prefix, machines by host name): a replica restarted after a crash
    // takes its own in-flight sagas over at once instead of waiting a lease.
    instanceId: `${hostname()}:${rt.prefix}:coordinator:${rt.replica}`,
  })
  sagaFeed(app, orchestrator)
  ordersApi(app, orchestrator, saga, clients, rt.config.settings.syncReplyWithin)

  // At boot: every saga this replica's previous life left is driven on (in the background; /ready waits for
  // it). Then once per lease: the sagas of a replica that died and stayed dead, once silent for the lease.
  let recovered = false
  let recovery: Promise<void> | undefined = recover()
  // One recovery at a time: recover() also waits for the sagas this replica drives, which may take longer.
  const everyLease = parseDuration(lease, 'settings.saga.lease')
  const timer = setInterval(() => {
    recovery ??= recover()
  }, everyLease)
  timer.unref()
  async function recover(): Promise<void> {
    try {
      const r = await orchestrator.recover()
      const resumed = r.resumed.map((s) => s.sagaId)
      if (!recovered || resumed.length > 0 || r.failed.length > 0)
        log.info({ resumed, parked: r.parked, leased: r.leased, failed: r.failed }, 'saga recovery done')
      recovered = true
    } catch (error) {
      if (!isBulwarkError(error, 'E_ABORTED')) log.error({ err: error }, 'saga recovery failed')
    } finally {
      recovery = undefined
    }
  }
  return {
    breakers: Object.values(clients).map((c) => c.breaker),
    caches: {},
    ready: async () => {
      await stores.ping()
      if (!recovered) throw new Error('saga recovery is still running')
    },
    close: async () => {
      clearInterval(timer)
      await orchestrator.close()
      await recovery
      for (const c of Object.values(clients)) await c.close()
      await stores.close()
    },
  }
})
