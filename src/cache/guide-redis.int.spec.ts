/**
 * The Redis snippets of docs/cache.md, run against the shared Redis (`guide.unit.spec.ts` checks that
 * the guide shows them as they are here). A quick start must end with nothing left open, so a script
 * written from it exits.
 */
import { Redis } from 'ioredis'
import { expect, it } from 'vitest'
import { describeWithRedis, redisUrl } from '../../test/support/services.js'
import { redisBus, redisCacheDriver } from './adapters/redis.js'
import { createCache } from './index.js'

const db = { find: async (id: string) => ({ id, name: 'Espresso machine' }) }
const sockets = () => process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length

describeWithRedis('docs/cache.md with Redis', () => {
  it('the Redis quick start runs and leaves no connection open', async () => {
    process.env.REDIS_URL = redisUrl()
    const before = sockets()
    // #region redis-quick-start
    const cache = createCache({
      namespace: 'guide-example',
      l2: redisCacheDriver({ url: process.env.REDIS_URL }), // or { client: existingIoredisClient }
      bus: redisBus({ url: process.env.REDIS_URL }), // its own subscriber connection
      ttl: '10m',
      grace: '1h',
    })
    await cache.ready() // the bus subscription is active

    const product = await cache.getOrSet('product:42', () => db.find('42'))

    await cache.close() // closes both connections: without it the process never exits
    // #endregion redis-quick-start
    expect(product.name).toBe('Espresso machine')
    await expect.poll(sockets).toBe(before)
    const admin = new Redis(redisUrl())
    await admin.unlink('bulwark:k:guide-example:product:42')
    admin.disconnect()
  })
})
