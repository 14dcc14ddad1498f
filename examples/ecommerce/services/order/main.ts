import { cacheFor } from '../../lib/caches.js'
import { registerFaults } from '../../lib/faults.js'
import { readRuntime } from '../../lib/runtime.js'
import { runService } from '../../lib/service.js'
import { openStores } from '../../lib/stores.js'
import { customers, seedCustomers } from './customers.js'
import { orders } from './orders.js'
import { orderRoutes } from './routes.js'

const rt = readRuntime('order')
await runService(rt, async ({ app, log, metrics }) => {
  const stores = await openStores(rt, metrics)
  if (rt.replica === 0) {
    const seeded = await seedCustomers(stores.docs, rt.config.settings.seed.customers)
    if (seeded > 0) log.info({ customers: seeded }, 'customers seeded')
  }
  const customerCache = await cacheFor(rt, 'customers')
  const book = orders(stores.events, stores.docs, rt.config.settings.order.snapshotEvery)
  registerFaults(app)
  orderRoutes(app, book, customers(stores.docs, customerCache, rt.config.cacheTable.customers.ttl))
  return {
    breakers: [],
    caches: { customers: customerCache },
    ready: () => stores.ping(),
    close: async () => {
      await book.close()
      await customerCache.close()
      await stores.close()
    },
  }
})
