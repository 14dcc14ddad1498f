// The cache's conformance suites, from the installed tarball, on the newest ioredis and vitest.
import { randomUUID } from 'node:crypto'
import { redisBus, redisCacheDriver } from 'bulwark/cache/redis'
import { cacheBusSuite, cacheDriverSuite } from 'bulwark/testing'
import { Redis } from 'ioredis'
import { afterAll } from 'vitest'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const client = new Redis(url)
afterAll(async () => {
  await client.quit()
})

// Each test gets a prefix of its own: the shared Redis serves other test runs at the same time.
await cacheDriverSuite('redis driver (consumer)', ({ clock }) =>
  redisCacheDriver({ client, keyPrefix: `consumer:${randomUUID()}:`, clock }),
)
await cacheBusSuite('redis bus (consumer)', () => redisBus({ url }))
