/**
 * The Redis driver and bus on a private Sentinel setup (a primary, one replica, one Sentinel): both
 * conformance suites, with the driver's own Sentinel-configured client and with a ready one.
 */
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe } from 'vitest'
import { type RedisSentinel, startRedisSentinel } from '../../../test/support/redis-sentinel.js'
import { cacheBusSuite, cacheDriverSuite } from '../../testing/cache-suites.js'
import { redisBus, redisCacheDriver } from './redis.js'

let sequence = 0
const nextPrefix = () => `bulwark-test:sentinel:${process.pid}:${sequence++}:`

describe('redis driver and bus through Sentinel', () => {
  let sentinel: RedisSentinel
  let client: Redis
  beforeAll(async () => {
    sentinel = await startRedisSentinel()
    client = sentinel.client()
    await client.ping()
  })
  afterAll(async () => {
    client?.disconnect()
    await sentinel?.close()
  })

  describe('with Sentinel connection options (owned client)', () => {
    cacheDriverSuite('redis sentinel (owned)', ({ clock }) =>
      redisCacheDriver({ connection: sentinel.connection, keyPrefix: nextPrefix(), clock }),
    )
    cacheBusSuite('redis sentinel (owned)', () => redisBus({ connection: sentinel.connection }))
  })

  describe('with a ready Sentinel-configured client', () => {
    cacheDriverSuite('redis sentinel (client)', ({ clock }) =>
      redisCacheDriver({ client, keyPrefix: nextPrefix(), clock }),
    )
    cacheBusSuite('redis sentinel (client)', () => redisBus({ client }))
  })
})
