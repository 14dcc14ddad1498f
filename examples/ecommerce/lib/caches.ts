import { type Cache, createCache } from 'bulwark/cache'
import { redisBus, redisCacheDriver } from 'bulwark/cache/redis'
import type { cacheTable } from './config.js'
import type { Runtime } from './runtime.js'

/**
 * The cache of one row of the cache table: its TTL, tags and refresh-ahead from the config file; a Redis L2
 * and a Redis bus when the row says "L1 + Redis" and `REDIS_URL` is set, L1 only otherwise.
 */
export function cacheFor(rt: Runtime, row: keyof typeof cacheTable): Cache {
  const r = rt.config.cacheTable[row]
  const shared = r.levels === 'l1+redis' && rt.redisUrl !== undefined
  const namespace = `${rt.prefix}:${rt.service}:${row}`
  return createCache({
    namespace,
    ttl: r.ttl,
    tags: r.tags,
    refreshAhead: 'refreshAhead' in r ? r.refreshAhead : 0,
    ...(shared ? { l2: redisCacheDriver({ url: rt.redisUrl }), bus: redisBus({ url: rt.redisUrl }) } : {}),
  })
}
