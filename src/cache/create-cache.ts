import { Cache } from './cache.js'
import { CacheContext } from './context.js'
import { subscribe } from './invalidation.js'
import type { CacheOptions } from './options.js'
import { resolveCacheOptions } from './resolve-options.js'

/**
 * Creates a two-level cache. Options are validated and merged here, once; a bad option throws a
 * `BulwarkError` with code `E_INVALID_OPTION` naming it.
 *
 * @example
 * ```ts
 * import { createCache } from 'bulwark/cache'
 * import { redisBus, redisCacheDriver } from 'bulwark/cache/redis'
 *
 * const cache = createCache({
 *   l2: redisCacheDriver({ client: redis }),
 *   bus: redisBus({ url: process.env.REDIS_URL }),
 *   ttl: '10m',
 *   grace: '1h',
 * })
 * const product = await cache.getOrSet(`product:${id}`, () => repo.find(id), { tags: ['products'] })
 * ```
 */
export function createCache(options?: CacheOptions): Cache {
  const resolved = resolveCacheOptions(options)
  const ctx = new CacheContext(resolved)
  const ready = subscribe(ctx)
  // A failed subscription is counted as a bus error; `ready()` reports it to whoever asks.
  ready.catch(() => {})
  return new Cache(ctx, '', ready)
}
