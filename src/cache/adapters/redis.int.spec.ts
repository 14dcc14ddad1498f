import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  commandCalls,
  freePort,
  type RedisServer,
  startRedisServer,
  unlinkMatching,
} from '../../../test/support/redis-server.js'
import { describeWithRedis, redisUrl } from '../../../test/support/services.js'
import { isBulwarkError } from '../../core/errors.js'
import { cacheDriverSuite } from '../../testing/cache-suites.js'
import { fakeClock } from '../../testing/fake-clock.js'
import type { L2Entry } from '../types.js'
import { type RedisCacheDriver, redisCacheDriver } from './redis.js'

const run = `bulwark-test:redis-driver:${process.pid}:${Date.now()}`
let sequence = 0
const nextPrefix = () => `${run}:${sequence++}:`

const entry = (value: string, ttl = 60_000, tags?: string[]): L2Entry => ({
  value,
  version: 1,
  expiresAt: Date.now() + ttl / 2,
  staleUntil: Date.now() + ttl,
  tags,
})

describeWithRedis('redis cache driver', () => {
  let admin: Redis
  beforeAll(() => {
    admin = new Redis(redisUrl())
  })
  afterAll(async () => {
    await unlinkMatching(admin, `${run}:*`)
    admin.disconnect()
  })

  describe('with a URL (owned client)', () => {
    cacheDriverSuite('redis (url)', ({ clock }) =>
      redisCacheDriver({ url: redisUrl(), keyPrefix: nextPrefix(), clock, clearBatchSize: 200 }),
    )
  })

  describe('with a ready client', () => {
    let client: Redis
    beforeAll(() => {
      client = new Redis(redisUrl())
    })
    afterAll(() => client.disconnect())
    cacheDriverSuite('redis (client)', ({ clock }) => redisCacheDriver({ client, keyPrefix: nextPrefix(), clock }))

    it('leaves a given client open on close', async () => {
      const driver = redisCacheDriver({ client, keyPrefix: nextPrefix() })
      await driver.close()
      expect(await client.ping()).toBe('PONG')
    })
  })

  describe('storage layout', () => {
    let driver: RedisCacheDriver
    let prefix: string
    afterEach(() => driver.close())

    it('stores one string per entry, expiring at staleUntil', async () => {
      prefix = nextPrefix()
      driver = redisCacheDriver({ url: redisUrl(), keyPrefix: prefix })
      await driver.set('k', entry('"v"', 30_000))
      expect(await admin.type(`${prefix}k:k`)).toBe('string')
      const ttl = await admin.pttl(`${prefix}k:k`)
      expect(ttl).toBeGreaterThan(25_000)
      expect(ttl).toBeLessThanOrEqual(30_000)
    })

    it('keeps tag sets at <prefix>tag:<tag>, living as long as their longest member', async () => {
      prefix = nextPrefix()
      driver = redisCacheDriver({ url: redisUrl(), keyPrefix: prefix })
      await driver.set('short', entry('1', 10_000, ['t']))
      await driver.set('long', entry('2', 50_000, ['t']))
      await driver.set('shorter', entry('3', 5_000, ['t']))
      expect((await admin.smembers(`${prefix}tag:t`)).sort()).toEqual([
        `${prefix}k:long`,
        `${prefix}k:short`,
        `${prefix}k:shorter`,
      ])
      expect(await admin.pttl(`${prefix}tag:t`)).toBeGreaterThan(45_000)
    })

    it('clear never touches keys outside its prefix, not even other drivers on the same database', async () => {
      prefix = nextPrefix()
      driver = redisCacheDriver({ url: redisUrl(), keyPrefix: prefix })
      const neighbour = redisCacheDriver({ url: redisUrl(), keyPrefix: nextPrefix() })
      await admin.set(`${run}:raw`, 'raw', 'PX', 60_000)
      await driver.set('a', entry('1'))
      await neighbour.set('a', entry('n'))
      await driver.clear('')
      expect(await driver.get('a')).toBeUndefined()
      expect((await neighbour.get('a'))?.value).toBe('n')
      expect(await admin.get(`${run}:raw`)).toBe('raw')
      await neighbour.close()
    })

    it('locks expire after their ttl on the server', async () => {
      prefix = nextPrefix()
      driver = redisCacheDriver({ url: redisUrl(), keyPrefix: prefix })
      expect(await driver.acquireLock('job', 'me', 5_000)).toBe(true)
      const ttl = await admin.pttl(`${prefix}lock:job`)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(5_000)
    })
  })

  describe('at boot (docs: "at boot, while Redis has never connected")', () => {
    it('the first-connection wait runs on real time, not on the injected clock', async () => {
      const clock = fakeClock()
      const driver = redisCacheDriver({ url: redisUrl(), keyPrefix: nextPrefix(), clock })
      clock.advance(60_000) // a test moving its fake clock before the client has connected
      try {
        await driver.set('k', entry('"v"'))
        expect((await driver.get('k'))?.value).toBe('"v"')
      } finally {
        await driver.close()
      }
    })

    it('with nothing listening, the first calls fail at once instead of waiting for their signal', async () => {
      const driver = redisCacheDriver({ url: `redis://127.0.0.1:${await freePort()}` })
      try {
        const started = performance.now()
        const outcome = await driver.get('k', AbortSignal.timeout(20_000)).catch((e: unknown) => e)
        expect(isBulwarkError(outcome, 'E_CACHE_L2')).toBe(true)
        // A wall-clock bound: ioredis's connection attempts and retries run on real timers (no fake clock
        // drives them), and so does the signal. Generous, half the signal: before, it waited the whole signal.
        expect(performance.now() - started).toBeLessThan(10_000)
      } finally {
        await driver.close()
      }
    })
  })

  describe('on a private server', () => {
    let server: RedisServer
    let driver: RedisCacheDriver
    beforeAll(async () => {
      server = await startRedisServer()
    })
    afterAll(() => server.close())
    afterEach(() => driver.close())

    it('reads any number of keys in one MGET and writes a batch in one MULTI/EXEC', async () => {
      driver = redisCacheDriver({ url: server.url })
      const keys = Array.from({ length: 100 }, (_, i) => `k${i}`)
      await driver.get('warm-up')
      await server.command('CONFIG', 'RESETSTAT')
      await driver.setMany(keys.map((key, i) => [key, entry(String(i), 60_000, i % 2 ? ['odd'] : undefined)]))
      const read = await driver.getMany(keys)
      expect(read.map((e) => e?.value)).toEqual(keys.map((_, i) => String(i)))
      expect(await commandCalls(server, 'exec')).toBe(1)
      expect(await commandCalls(server, 'mget')).toBe(1)
      expect(await commandCalls(server, 'get')).toBe(0)
    })

    it('stops waiting when the signal aborts, though Redis is not answering', async () => {
      driver = redisCacheDriver({ url: server.url })
      await driver.get('warm-up')
      server.freeze()
      // Should the abort not end the call, the server answers after 20 s and the assertions below say so.
      const thawLater = setTimeout(() => server.thaw(), 20_000)
      const started = performance.now()
      const outcome = await driver.get('k', AbortSignal.timeout(100)).catch((e: unknown) => e)
      const waited = performance.now() - started
      clearTimeout(thawLater)
      server.thaw()
      expect(isBulwarkError(outcome, 'E_ABORTED')).toBe(true)
      // A wall-clock bound: the wait is on a real socket to a really frozen server, which no fake clock can
      // end. Generous, half the freeze: without the abort, the call waits until the server answers.
      expect(waited).toBeLessThan(10_000)
    })

    it('fails fast with E_CACHE_L2 while Redis is down, and works again once it is back', async () => {
      driver = redisCacheDriver({ url: server.url })
      await driver.set('k', entry('before'))
      await server.kill()
      const started = performance.now()
      const outcome = await driver.get('k').catch((e: unknown) => e)
      expect(isBulwarkError(outcome, 'E_CACHE_L2')).toBe(true)
      // A wall-clock bound: what it rules out is a call queued until ioredis reconnects, on its own real
      // reconnect timers (no fake clock drives them), while the server stays down. Generous: it fails at once.
      expect(performance.now() - started).toBeLessThan(5_000)
      await server.start()
      await vi.waitFor(async () => expect(await driver.get('k')).toBeUndefined(), { timeout: 10_000, interval: 100 })
      await driver.set('k', entry('after'))
      expect((await driver.get('k'))?.value).toBe('after')
    })

    it('waits for the first connection instead of failing the very first commands', async () => {
      driver = redisCacheDriver({ url: server.url })
      await driver.set('first', entry('1'))
      expect((await driver.get('first'))?.value).toBe('1')
    })
  })
})
