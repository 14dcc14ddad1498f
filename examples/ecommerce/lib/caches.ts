import { type Cache, createCache } from 'bulwark/cache'
import type { cacheTable } from './config.js'
import type { Runtime } from './runtime.js'

/**
 * The cache of one row of the cache table: its TTL, tags and refresh-ahead from the config file; a Redis L2
 * and a Redis bus when the row says "L1 + Redis" and `REDIS_URL` is set, L1 only otherwise.
 */
export async function cacheFor(rt: Runtime, row: keyof typeof cacheTable): Promise<Cache> {
  const r = rt.config.cacheTable[row]
  const shared = r.levels === 'l1+redis' && rt.redisUrl !== undefined
  const namespace = `${rt.prefix}:${rt.service}:${row}`
  // Loaded only in Redis mode: the embedded stack never loads ioredis (less memory per process).
  const redis = shared ? await import('bulwark/cache/redis') : undefined
  return createCache({
    namespace,
    ttl: r.ttl,
    tags: r.tags,
    refreshAhead: 'refreshAhead' in r ? r.refreshAhead : 0,
    ...(redis ? { l2: redis.redisCacheDriver({ url: rt.redisUrl }), bus: redis.redisBus({ url: rt.redisUrl }) } : {}),
  })
}
