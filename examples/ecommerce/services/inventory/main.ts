import { cacheFor } from '../../lib/caches.js'
import { registerFaults } from '../../lib/faults.js'
import { readRuntime } from '../../lib/runtime.js'
import { runService } from '../../lib/service.js'
import { openStores } from '../../lib/stores.js'
import { catalog, seedCatalog } from './catalog.js'
import { inventoryRoutes } from './routes.js'
import { computeStatistics } from './statistics.js'

const rt = readRuntime('inventory')
await runService(rt, async ({ app, log, metrics }) => {
  const stores = await openStores(rt, metrics)
  if (rt.replica === 0) {
    const seeded = await seedCatalog(stores.docs, rt.config.settings.seed.products)
    if (seeded > 0) log.info({ products: seeded }, 'catalog seeded')
  }
  const products = await cacheFor(rt, 'products')
  const statisticsCache = await cacheFor(rt, 'statistics')
  const shop = catalog(stores.docs, stores.events, products, rt.config.cacheTable.products.ttl)
  registerFaults(app)
  inventoryRoutes(app, shop, () =>
    statisticsCache.getOrSet('statistics', () => computeStatistics(stores.docs, stores.events)),
  )
  return {
    breakers: [],
    caches: { products, statistics: statisticsCache },
    ready: () => stores.ping(),
    close: async () => {
      await products.close()
      await statisticsCache.close()
      await stores.close()
    },
  }
})
