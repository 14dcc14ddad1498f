/**
 * The snippets of docs/cache.md, compiled and run. Each `#region` is copied into the guide as is
 * (imports there come from `bulwark/cache` and `bulwark/testing`).
 */
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { guideRegions } from '../../test/support/guide-regions.js'
import { circuitBreaker } from '../breaker/index.js'
import { fakeClock } from '../testing/fake-clock.js'
import {
  cached,
  cacheEvict,
  cachePut,
  createCache,
  MemoryBusHub,
  memoryBus,
  memoryCacheDriver,
  setDefaultCache,
} from './index.js'

interface Product {
  id: string
  name: string
  price: number
}
const db = {
  reads: 0,
  rows: new Map<string, Product>([['42', { id: '42', name: 'Espresso machine', price: 249 }]]),
  async find(id: string): Promise<Product | null> {
    db.reads++
    return db.rows.get(id) ?? null
  },
  async findMany(ids: string[]): Promise<Map<string, Product>> {
    db.reads++
    return new Map(ids.flatMap((id) => (db.rows.has(id) ? [[id, db.rows.get(id) as Product]] : [])))
  },
}

const categoryOf = (_id: string) => 'kitchen'

it('quick start', async () => {
  // #region quick-start
  const cache = createCache({ l2: memoryCacheDriver(), ttl: '10m' })

  const product = await cache.getOrSet('product:42', () => db.find('42'), { tags: ['products'] })
  await cache.getOrSet('product:42', () => db.find('42')) // from L1: the loader does not run

  await cache.deleteByTag('products') // every process drops its copies
  // #endregion quick-start
  expect(product?.name).toBe('Espresso machine')
  expect(db.reads).toBe(1)
  expect(await cache.has('product:42')).toBe(false)
})

it('entry options', async () => {
  const clock = fakeClock()
  const cache = createCache({ clock })
  const id = '42'
  // #region entry-options
  const product = await cache.getOrSet(`product:${id}`, () => db.find(id), {
    ttl: '1h', // fresh for an hour...
    jitter: 0.1, // ...give or take 6 minutes, so entries written together do not expire together
    negativeTtl: '30s', // a null result (no such product) is remembered for 30 s only
    grace: '1d', // if the database is down after expiry, serve the old value for up to a day
    refreshAhead: 0.8, // past 48 minutes, answer at once and refresh in the background
    tags: ['products', `category:${categoryOf(id)}`],
  })
  // #endregion entry-options
  expect(product?.id).toBe('42')
})
it('two processes', async () => {
  // #region two-processes
  // In production: l2 = redisCacheDriver({ url }), bus = redisBus({ url }), one of each per process.
  const l2 = memoryCacheDriver()
  const hub = new MemoryBusHub()
  const processA = createCache({ l2, bus: memoryBus({ hub }) })
  const processB = createCache({ l2, bus: memoryBus({ hub }) })
  await Promise.all([processA.ready(), processB.ready()])

  await processA.set('price:42', 249)
  await processB.get('price:42') // 249, now in B's L1
  await processA.set('price:42', 199) // B drops its L1 copy
  const price = await processB.get('price:42') // 199, read again from L2
  // #endregion two-processes
  expect(price).toBe(199)
  expect(processB.stats().invalidationsReceived).toBe(2)
})

it('batches', async () => {
  const cache = createCache()
  const reads = db.reads
  // #region batches
  const ids = ['42', '43', '44']
  const products = await cache.getOrSetMany(
    ids.map((id) => `product:${id}`),
    async (missing) => {
      // One query for the keys neither L1 nor L2 had; a key left out is cached as "not found".
      const rows = await db.findMany(missing.map((key) => key.slice('product:'.length)))
      return new Map([...rows].map(([id, row]) => [`product:${id}`, row]))
    },
  )
  // products[0] is product 42, products[1] and products[2] are undefined
  // #endregion batches
  expect(products.map((p) => p?.id)).toEqual(['42', undefined, undefined])
  expect(db.reads).toBe(reads + 1)
})

it('decorators', async () => {
  // #region decorators
  class ProductRepository {
    @cached({ key: (id: string) => `product:${id}`, ttl: '1h', tags: ['products'] })
    async find(id: string): Promise<Product | null> {
      return db.find(id)
    }

    @cachePut({ key: (product: Product) => `product:${product.id}`, tags: ['products'] })
    async save(product: Product): Promise<Product> {
      db.rows.set(product.id, product)
      return product
    }

    @cacheEvict({ key: (id: string) => `product:${id}` })
    async remove(id: string): Promise<void> {
      db.rows.delete(id)
    }
  }

  setDefaultCache(createCache({ ttl: '10m' }))
  const repository = new ProductRepository()
  // #endregion decorators
  const reads = db.reads
  await repository.find('42')
  await repository.find('42')
  await repository.save({ id: '42', name: 'Espresso machine', price: 199 })
  expect((await repository.find('42'))?.price).toBe(199)
  expect(db.reads).toBe(reads + 1)
  await repository.remove('42')
  expect(await repository.find('42')).toBeNull()
})

it('observability', async () => {
  const cache = createCache()
  const log = { warn: (..._args: unknown[]) => {} }
  // #region observability
  cache.on('l2Error', (operation, error) => log.warn({ operation, error }, 'cache L2 unavailable'))
  cache.on('staleServed', (key) => log.warn({ key }, 'served a stale value'))

  await cache.getOrSet('config', () => ({ flags: [] }))
  const { l1Hits, l2Hits, misses, loads, l2Errors, l1Entries } = cache.stats()
  // #endregion observability
  expect({ l1Hits, l2Hits, misses, loads, l2Errors, l1Entries }).toEqual({
    l1Hits: 0,
    l2Hits: 0,
    misses: 1,
    loads: 1,
    l2Errors: 0,
    l1Entries: 1,
  })
})

it('namespaces', async () => {
  // #region namespaces
  const cache = createCache({ namespace: 'shop' })
  const sessions = cache.namespace('sessions')
  await sessions.set('token-1', { userId: 7 }, { ttl: '30m' }) // L2 key 'shop:sessions:token-1'
  await sessions.clear() // deletes 'shop:sessions:*' only
  // #endregion namespaces
  expect(await sessions.get('token-1')).toBeUndefined()
})

it('the breaker option', async () => {
  const log = { warn: (..._args: unknown[]) => {} }
  const l2 = memoryCacheDriver()
  // #region breaker-option
  // Options, merged over the cache's defaults (a bad one is reported as `breaker.<option>`):
  const tuned = createCache({ l2, breaker: { minimumCalls: 20, openDuration: '10s' } })
  // Or a breaker of your own, to watch it or share it (here by the two caches of one Redis):
  const redisBreaker = circuitBreaker({ name: 'redis', failureRateThreshold: 0.5, slowCallDuration: '250ms' })
  redisBreaker.on('stateChange', (from, to) => log.warn({ from, to }, 'Redis breaker'))
  const products = createCache({ namespace: 'products', l2, breaker: redisBreaker })
  const sessions = createCache({ namespace: 'sessions', l2, breaker: redisBreaker })
  // #endregion breaker-option
  await products.set('42', 'espresso')
  await sessions.set('t', 1)
  expect(await tuned.getOrSet('k', () => 1)).toBe(1)
  expect(redisBreaker.metrics().calls).toBe(2)
  expect(() => createCache({ l2, breaker: { minimumCalls: 0 } })).toThrow(/`breaker.minimumCalls`/)
})

it('docs/cache.md shows these snippets as they are here', () => {
  const guide = readFileSync(new URL('../../docs/cache.md', import.meta.url), 'utf8')
  const regions = ['./guide.unit.spec.ts', './guide-redis.int.spec.ts'].flatMap((file) =>
    guideRegions(new URL(file, import.meta.url)),
  )
  expect(regions.length).toBe(9)
  for (const { name, code } of regions) expect(guide.includes(code), `region ${name} is in docs/cache.md`).toBe(true)
})
