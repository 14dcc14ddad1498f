import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { freePort, type RedisServer, startRedisServer } from '../../../test/support/redis-server.js'
import { describeWithRedis, redisUrl } from '../../../test/support/services.js'
import { isBulwarkError } from '../../core/errors.js'
import { cacheBusSuite } from '../../testing/cache-suites.js'
import type { BusMessage } from '../types.js'
import { type RedisBus, redisBus } from './redis.js'

const channel = `bulwark-test:redis-bus:${process.pid}`
const clear = (prefix: string): BusMessage => ({ source: 'other', type: 'clear', prefix })

/** A subscriber that records connection events and messages in the order they happen. */
function recorder() {
  const events: string[] = []
  return {
    events,
    handlers: {
      message: (m: BusMessage) => events.push(`message:${m.type === 'clear' ? m.prefix : m.type}`),
      disconnected: () => events.push('disconnected'),
      reconnected: () => events.push('reconnected'),
    },
  }
}

describeWithRedis('redis bus', () => {
  describe('with a URL', () => {
    cacheBusSuite('redis (url)', () => redisBus({ url: redisUrl() }))
  })

  describe('with a ready client', () => {
    let client: Redis
    beforeAll(() => {
      client = new Redis(redisUrl())
    })
    afterAll(() => client.disconnect())
    cacheBusSuite('redis (client)', () => redisBus({ client }))

    it('publishes through the given client, listens on a duplicate, and leaves the client open', async () => {
      const bus = redisBus({ client })
      const { events, handlers } = recorder()
      await bus.subscribe(channel, handlers)
      await client.publish(channel, '["other","c","from-client"]')
      await vi.waitFor(() => expect(events).toEqual(['message:from-client']))
      await bus.close()
      expect(await client.ping()).toBe('PONG')
    })

    it('skips, undecoded, the messages of the source a subscription names, and only for it', async () => {
      const bus = redisBus({ client })
      const mine = recorder()
      const other = recorder()
      await bus.subscribe(channel, { ...mine.handlers, source: 'me"\\' })
      await bus.subscribe(channel, other.handlers)
      await bus.publish(channel, { source: 'me"\\', type: 'clear', prefix: 'own' })
      await bus.publish(channel, { source: 'me', type: 'clear', prefix: 'prefix-of-mine' })
      await bus.publish(channel, { source: 'other', type: 'clear', prefix: 'theirs' })
      await vi.waitFor(() => expect(other.events).toHaveLength(3))
      expect(mine.events).toEqual(['message:prefix-of-mine', 'message:theirs'])
      expect(other.events).toEqual(['message:own', 'message:prefix-of-mine', 'message:theirs'])
      await bus.close()
    })
  })

  describe('connection loss, on a private server', () => {
    let server: RedisServer
    let buses: RedisBus[] = []
    const open = (options: Parameters<typeof redisBus>[0] = {}) => {
      const bus = redisBus({ url: server.url, ...options })
      buses.push(bus)
      return bus
    }
    beforeAll(async () => {
      server = await startRedisServer()
    })
    afterAll(() => server.close())
    afterEach(async () => {
      await Promise.all(buses.map((bus) => bus.close()))
      buses = []
      if (!server.running) await server.start()
    })

    it('CLIENT KILL TYPE pubsub: disconnected, then reconnected once re-subscribed, once per loss', async () => {
      const subscriber = open()
      const publisher = open()
      const { events, handlers } = recorder()
      await subscriber.subscribe(channel, handlers)
      for (const round of [1, 2]) {
        expect(await server.clientKill('pubsub')).toBe(1)
        await vi.waitFor(() => expect(events.filter((e) => e === 'reconnected')).toHaveLength(round))
        await publisher.publish(channel, clear(`after-${round}`))
        await vi.waitFor(() => expect(events).toContain(`message:after-${round}`))
      }
      expect(events).toEqual([
        'disconnected',
        'reconnected',
        'message:after-1',
        'disconnected',
        'reconnected',
        'message:after-2',
      ])
    })

    it('a server down for many reconnect attempts still makes one disconnected/reconnected pair', async () => {
      const subscriber = open()
      const { events, handlers } = recorder()
      await subscriber.subscribe(channel, handlers)
      await server.kill()
      await vi.waitFor(() => expect(events).toEqual(['disconnected']))
      // Several reconnect attempts fail while it is down (they are 100 ms apart at first).
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(events).toEqual(['disconnected'])
      await server.start()
      await vi.waitFor(() => expect(events).toEqual(['disconnected', 'reconnected']), { timeout: 10_000 })
      await open().publish(channel, clear('back'))
      await vi.waitFor(() => expect(events).toEqual(['disconnected', 'reconnected', 'message:back']))
    })

    it('close does not hang on a frozen server that never answers QUIT', async () => {
      // A user's client with no commandTimeout: only the bus's own bound on QUIT can end the wait.
      const client = new Redis(server.url)
      const bus = redisBus({ client })
      await bus.subscribe(channel, recorder().handlers)
      await bus.publish(channel, clear('warm'))
      server.freeze()
      try {
        const started = performance.now()
        await bus.close()
        // A wall-clock bound: the QUIT grace (1 s) is a real timer racing a real socket, which no fake clock
        // can drive. Generous, ten times the grace; without it, close waits for as long as the freeze.
        expect(performance.now() - started).toBeLessThan(10_000)
      } finally {
        server.thaw()
        client.disconnect()
      }
    })

    it('publish fails with E_CACHE_BUS while Redis is down, without hanging', async () => {
      const publisher = open()
      await publisher.publish(channel, clear('up'))
      await server.stop()
      const started = performance.now()
      const outcome = await publisher.publish(channel, clear('down')).catch((e: unknown) => e)
      expect(isBulwarkError(outcome, 'E_CACHE_BUS')).toBe(true)
      // A wall-clock bound: what it rules out is a publish queued until ioredis reconnects, on its own real
      // reconnect timers (no fake clock drives them), while the server stays down. Generous: it fails at once.
      expect(performance.now() - started).toBeLessThan(5_000)
    })
  })

  it('subscribe gives up after subscribeTimeout when Redis is absent, then recovers when it appears', async () => {
    const port = await freePort()
    const bus = redisBus({ url: `redis://127.0.0.1:${port}`, subscribeTimeout: 300 })
    const { events, handlers } = recorder()
    const outcome = await bus.subscribe(channel, handlers).catch((e: unknown) => e)
    expect(isBulwarkError(outcome, 'E_CACHE_BUS')).toBe(true)
    expect(events).toEqual(['disconnected'])
    const server = await startRedisServer(port)
    try {
      await vi.waitFor(() => expect(events).toEqual(['disconnected', 'reconnected']), { timeout: 10_000 })
      await server.command('PUBLISH', channel, '["other","c","late"]')
      await vi.waitFor(() => expect(events).toEqual(['disconnected', 'reconnected', 'message:late']))
    } finally {
      await bus.close()
      await server.close()
    }
  })
})
