import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { redisBus, redisCacheDriver } from '../../src/cache/adapters/redis.js'
import { MAX_BATCH } from '../../src/cache/adapters/redis-reads.js'
import { type Cache, createCache } from '../../src/cache/index.js'
import { isBulwarkError } from '../../src/core/errors.js'
import { commandCalls, type RedisServer, startRedisServer } from '../support/redis-server.js'
import { describeWithRedis } from '../support/services.js'

// One private server: its INFO commandstats counts exactly the commands these caches sent.
describeWithRedis('Redis commands per tick', () => {
  let server: RedisServer
  let caches: Cache[] = []
  let listener: Redis | undefined
  const open = (namespace: string, o: { l1?: boolean; bus?: boolean } = {}) => {
    const cache = createCache({
      namespace,
      ttl: '1h',
      l1: { enabled: o.l1 ?? false },
      l2: redisCacheDriver({ url: server.url }),
      ...(o.bus && { bus: redisBus({ url: server.url }) }),
    })
    caches.push(cache)
    return cache
  }
  /** How many times each of `commands` ran since the last call. */
  const calls = async (...commands: string[]) => {
    const counts = Object.fromEntries(
      await Promise.all(commands.map(async (c) => [c, await commandCalls(server, c)] as const)),
    )
    await server.command('CONFIG', 'RESETSTAT')
    return counts
  }
  /** Every message published on `channel` from now on, as received (raw). */
  const listen = async (channel: string) => {
    const messages: string[] = []
    listener = new Redis(server.url)
    listener.on('message', (_channel: string, raw: string) => messages.push(raw))
    await listener.subscribe(channel)
    return messages
  }
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`)
  const unexpectedMiss = () => {
    throw new Error('an L2 hit was expected')
  }

  beforeAll(async () => {
    server = await startRedisServer()
  })
  afterAll(() => server.close())
  afterEach(async () => {
    await server.command('ACL', 'SETUSER', 'default', '+@all')
    listener?.disconnect()
    listener = undefined
    await Promise.all(caches.map((cache) => cache.close()))
    caches = []
  })

  describe('the Redis driver reads the entries of one tick in one command', () => {
    it('concurrent L2 hits are one MGET, each caller gets its own value; a lone read is one GET', async () => {
      const cache = open('batch')
      await cache.ready()
      for (const key of keys(50)) await cache.set(key, { key })
      await calls()

      const values = await Promise.all(keys(50).map((key) => cache.getOrSet(key, unexpectedMiss)))
      expect(values).toEqual(keys(50).map((key) => ({ key })))
      expect(await calls('mget', 'get')).toEqual({ mget: 1, get: 0 })
      expect(cache.stats().l2Hits).toBe(50)

      expect(await cache.get('k7')).toEqual({ key: 'k7' })
      expect(await calls('mget', 'get')).toEqual({ mget: 0, get: 1 })
    })

    it('mixes hits, misses, absent keys and caches of one driver in one MGET, split every MAX_BATCH keys', async () => {
      const driver = redisCacheDriver({ url: server.url })
      const a = createCache({ namespace: 'a', ttl: '1h', l1: { enabled: false }, l2: driver })
      const b = createCache({ namespace: 'b', ttl: '1h', l1: { enabled: false }, l2: driver })
      caches.push(a, b)
      await Promise.all([a.ready(), b.ready()])
      await a.set('same', 'from a')
      await b.set('same', 'from b')
      for (const key of keys(MAX_BATCH)) await a.set(key, key)
      await calls()

      const loaded: string[] = []
      const [fromA, fromB, missing, ...hits] = await Promise.all([
        a.getOrSet('same', unexpectedMiss),
        b.getOrSet('same', unexpectedMiss),
        a.getOrSet('absent', () => {
          loaded.push('absent')
          return 'loaded'
        }),
        ...keys(MAX_BATCH).map((key) => a.getOrSet(key, unexpectedMiss)),
      ])
      expect([fromA, fromB, missing]).toEqual(['from a', 'from b', 'loaded'])
      expect(hits).toEqual(keys(MAX_BATCH))
      expect(loaded).toEqual(['absent'])
      // MAX_BATCH + 3 reads: two MGETs.
      expect((await calls('mget', 'get')).mget).toBe(2)
    })

    it('a refused MGET fails each of its reads: each falls back to its loader and counts its own l2Error', async () => {
      const cache = open('refused')
      await cache.ready()
      for (const key of keys(10)) await cache.set(key, 'cached')
      const errors: unknown[] = []
      cache.on('l2Error', (operation, error) => errors.push([operation, error]))
      await server.command('ACL', 'SETUSER', 'default', '-mget')

      const values = await Promise.all(keys(10).map((key) => cache.getOrSet(key, () => `loaded ${key}`)))
      expect(values).toEqual(keys(10).map((key) => `loaded ${key}`))
      // Ten failed reads (the breaker opens on them, so the loaded values' writes are refused after).
      const reads = (errors as [string, unknown][]).filter(([operation]) => operation === 'get')
      expect(reads).toHaveLength(10)
      for (const [, error] of reads) {
        expect(isBulwarkError(error) && error.code === 'E_CACHE_L2' && /NOPERM/.test(error.message)).toBe(true)
      }
    })
  })

  describe('the Redis bus publishes the set messages of one tick in one PUBLISH', () => {
    it('concurrent sets are one message; another process drops every key it carried', async () => {
      const writer = open('shop', { l1: true, bus: true })
      const reader = open('shop', { l1: true, bus: true })
      await Promise.all([writer.ready(), reader.ready()])
      for (const key of keys(50)) await reader.getOrSet(key, () => 'old')
      expect(reader.stats().l1Entries).toBe(50)
      const messages = await listen('bulwark:cache:shop')
      await calls()

      await Promise.all(keys(50).map((key) => writer.set(key, 'new')))
      expect(await calls('publish')).toEqual({ publish: 1 })
      await expect.poll(() => reader.stats().l1Entries).toBe(0)
      expect(await Promise.all(keys(50).map((key) => reader.getOrSet(key, () => 'reloaded')))).toEqual(
        keys(50).map(() => 'new'),
      )
      await expect.poll(() => messages.length).toBe(1)
      expect(JSON.parse(messages[0] as string)[2]).toEqual(keys(50).map((key) => `shop:${key}`))
    })

    it('keeps the order of a channel: sets waiting in the tick go out before a message published after them', async () => {
      const bus = redisBus({ url: server.url })
      try {
        const messages = await listen('orders')
        await Promise.all([
          bus.publish('orders', { source: 'me', type: 'set', keys: ['a'], versions: [1] }),
          bus.publish('orders', { source: 'me', type: 'set', keys: ['b'], versions: [2] }),
          bus.publish('orders', { source: 'me', type: 'delete', keys: ['a'] }),
          bus.publish('orders', { source: 'me', type: 'set', keys: ['c'], versions: [3] }),
          bus.publish('orders', { source: 'other', type: 'set', keys: ['d'], versions: [4] }),
        ])
        await expect.poll(() => messages.length).toBe(4)
        expect(messages.map((raw) => JSON.parse(raw))).toEqual([
          ['me', 's', ['a', 'b'], [1, 2]],
          ['me', 'd', ['a']],
          ['me', 's', ['c'], [3]],
          ['other', 's', ['d'], [4]],
        ])
      } finally {
        await bus.close()
      }
    })

    it('a refused PUBLISH fails each write it carried: one busError per set', async () => {
      const cache = open('refused-bus', { bus: true })
      await cache.ready()
      const errors: unknown[] = []
      cache.on('busError', (error) => errors.push(error))
      await server.command('ACL', 'SETUSER', 'default', '-publish')
      await Promise.all(keys(10).map((key) => cache.set(key, 1)))
      expect(errors).toHaveLength(10)
      for (const error of errors) {
        expect(isBulwarkError(error) && error.code === 'E_CACHE_BUS' && /NOPERM/.test(error.message)).toBe(true)
      }
      // The writes themselves went through.
      expect(await server.command('EXISTS', ...keys(10).map((key) => `bulwark:k:refused-bus:${key}`))).toBe(10)
    })
  })
})
