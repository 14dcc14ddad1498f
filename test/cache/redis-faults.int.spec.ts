/**
 * The cache against a Redis that fails: a private redis-server (never the shared one) whose pub/sub
 * connections are killed, and which is killed outright in the middle of a load and started again.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest'
import { redisBus, redisCacheDriver } from '../../src/cache/adapters/redis.js'
import { type Cache, createCache } from '../../src/cache/index.js'
import { isBulwarkError } from '../../src/core/errors.js'
import { fakeClock } from '../../src/testing/index.js'
import { type RedisServer, startRedisServer } from '../support/redis-server.js'
import { describeWithRedis } from '../support/services.js'

/** The largest latency (not `Math.max(...all)`: hundreds of thousands of arguments overflow the stack). */
const slowest = (latencies: readonly number[]) => latencies.reduce((max, ms) => Math.max(max, ms), 0)

describeWithRedis('cache with a failing Redis', () => {
  let server: RedisServer
  let caches: Cache[] = []
  const open = (options: Parameters<typeof createCache>[0] = {}) => {
    const cache = createCache({
      l2: redisCacheDriver({ url: server.url }),
      bus: redisBus({ url: server.url }),
      ...options,
    })
    caches.push(cache)
    return cache
  }

  beforeAll(async () => {
    server = await startRedisServer()
  })
  afterAll(() => server.close())
  afterEach(async () => {
    if (!server.running) await server.start()
    await Promise.all(caches.map((cache) => cache.close()))
    caches = []
  })

  it('a dropped bus connection (CLIENT KILL TYPE pubsub) flushes L1 once it is back', async () => {
    const cache = open()
    await cache.ready()
    await cache.getOrSet('a', () => 'A')
    await cache.getOrSet('b', () => 'B')
    await cache.settled()
    expect(cache.stats().l1Entries).toBe(2)
    const reconnected = new Promise<void>((resolve) => cache.once('busReconnected', resolve))
    const disconnected = vi.fn()
    cache.on('busDisconnected', disconnected)

    expect(await server.clientKill('pubsub')).toBe(1)
    await reconnected

    expect(disconnected).toHaveBeenCalledTimes(1)
    expect(cache.stats()).toMatchObject({ busReconnects: 1, l1Entries: 0 })
    const l2Hits = cache.stats().l2Hits
    expect(await cache.get('a')).toBe('A')
    expect(cache.stats().l2Hits).toBe(l2Hits + 1)
  })

  it("reports Redis's refusals as its driver and bus do: E_CACHE_L2 for GET and SET, E_CACHE_BUS for PUBLISH", async () => {
    const cache = open({ namespace: 'refusals' })
    await cache.ready()
    const l2Errors: [string, unknown][] = []
    const busErrors: unknown[] = []
    cache.on('l2Error', (operation, error) => l2Errors.push([operation, error]))
    cache.on('busError', (error) => busErrors.push(error))
    const refused = (error: unknown, code: string, message: RegExp) =>
      isBulwarkError(error) && error.code === code && message.test(error.message)
    try {
      // A key of another type: GET answers WRONGTYPE; the loader runs and its value is written over it.
      await server.command('LPUSH', 'bulwark:k:refusals:a', 'x')
      expect(await cache.getOrSet('a', () => 'loaded')).toBe('loaded')
      expect(l2Errors).toHaveLength(1)
      expect(l2Errors[0]?.[0]).toBe('get')
      expect(refused(l2Errors[0]?.[1], 'E_CACHE_L2', /^Redis GET failed: WRONGTYPE/)).toBe(true)

      // The write goes through, the publish is refused.
      await server.command('ACL', 'SETUSER', 'default', '-publish')
      await cache.set('b', 1)
      expect(busErrors).toHaveLength(1)
      expect(refused(busErrors[0], 'E_CACHE_BUS', /^Redis PUBLISH failed: NOPERM/)).toBe(true)
      expect((busErrors[0] as { context?: unknown }).context).toEqual({ channel: 'bulwark:cache:refusals' })

      // The write is refused (and the publish still goes out).
      await server.command('ACL', 'SETUSER', 'default', '+publish', '-set')
      await cache.set('c', 1)
      expect(l2Errors).toHaveLength(2)
      expect(l2Errors[1]?.[0]).toBe('set')
      expect(refused(l2Errors[1]?.[1], 'E_CACHE_L2', /^Redis SET failed: NOPERM/)).toBe(true)
      expect(busErrors).toHaveLength(1)
    } finally {
      await server.command('ACL', 'SETUSER', 'default', '+@all')
    }
  })

  /**
   * 50 workers calling `getOrSet` in a loop over 20 keys (L1 off, so every call asks L2), timing each
   * call and keeping every error, while `fault` breaks Redis and `repair` brings it back. Resolves once
   * L2 hits have resumed after the repair, with the longest event-loop delay seen meanwhile.
   *
   * Its latencies are wall-clock: the fault is a real process killed or frozen, ioredis reconnects on real
   * timers, and the load runs in real time, so no fake clock can drive it and the cache runs on the system
   * clock. A bound on them allows for the event loop's own stalls on a loaded machine.
   */
  async function underLoad(cache: Cache, fault: () => Promise<void>, repair: () => Promise<void>) {
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
    for (const key of keys) await cache.set(key, key)
    const latencies: number[] = []
    const errors: unknown[] = []
    let running = true
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const key = keys[(w + i) % keys.length] as string
        const started = performance.now()
        try {
          const value = await cache.getOrSet(key, () => key)
          if (value !== key) errors.push(new Error(`wrong value ${String(value)} for ${key}`))
        } catch (error) {
          errors.push(error)
        }
        latencies.push(performance.now() - started)
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    const loopDelay = monitorEventLoopDelay({ resolution: 10 })
    loopDelay.enable()
    const load = Promise.all(Array.from({ length: 50 }, (_, w) => worker(w)))
    try {
      await vi.waitFor(() => expect(cache.stats().l2Hits).toBeGreaterThan(200))
      await fault()
      await vi.waitFor(() => expect(cache.stats().l2Errors).toBeGreaterThan(0))
      const callsBefore = latencies.length
      // Keep the load on the broken Redis for a while (longer than the hard timeout).
      await new Promise((resolve) => setTimeout(resolve, 600))
      const duringOutage = latencies.length - callsBefore
      await repair()
      const hitsAtRepair = cache.stats().l2Hits
      await vi.waitFor(() => expect(cache.stats().l2Hits).toBeGreaterThan(hitsAtRepair + 100), { timeout: 15_000 })
      return { errors, latencies, duringOutage, maxLoopDelayMs: loopDelay.max / 1e6 }
    } finally {
      running = false
      await load
      loopDelay.disable()
    }
  }

  const HARD = 200
  const faultyCache = () =>
    open({ l1: { enabled: false }, timeout: { hard: HARD }, breaker: { openDuration: 300, minimumCalls: 5 } })

  it('Redis killed during concurrent getOrSet calls: no error, no wait past the hard timeout, L2 used after restart', async () => {
    const cache = faultyCache()
    await cache.ready()
    const { errors, latencies, duringOutage, maxLoopDelayMs } = await underLoad(
      cache,
      () => server.kill(),
      () => server.start(),
    )
    expect(errors).toEqual([])
    expect(duringOutage).toBeGreaterThan(0)
    // A wall-clock correctness bound (see underLoad), not a speed claim, and generous: the hard timeout,
    // plus the longest stall of the event loop (the timer fires only when the loop gets to it), plus 800 ms.
    expect(slowest(latencies)).toBeLessThan(HARD + maxLoopDelayMs + 800)
  })

  it('Redis frozen (SIGSTOP, connections open, no answers): callers give up at the hard timeout, L2 used after', async () => {
    const cache = faultyCache()
    await cache.ready()
    const { errors, latencies, duringOutage, maxLoopDelayMs } = await underLoad(
      cache,
      async () => server.freeze(),
      async () => server.thaw(),
    )
    expect(errors).toEqual([])
    expect(duringOutage).toBeGreaterThan(0)
    // Calls stuck on the frozen server waited for the hard timeout, and no longer: a wall-clock bound (see
    // underLoad), generous as above. (The exact timeout is proven on a fake clock in the next test.)
    expect(slowest(latencies)).toBeGreaterThanOrEqual(HARD * 0.9)
    expect(slowest(latencies)).toBeLessThan(HARD + maxLoopDelayMs + 800)
  })

  it('Redis frozen: set, delete and getOrSet with lock each take one hard timeout in total, not one per step', async () => {
    // The hard timeout runs on the cache's clock, so a fake clock drives it exactly: no wall-clock bound.
    // The frozen server answers nothing, so nothing but the clock can end a call.
    const hard = 400
    const clock = fakeClock()
    const cache = open({ timeout: { hard }, lock: true, clock })
    await cache.ready()
    await cache.set('warm', 1) // the driver and the bus are connected
    server.freeze()
    try {
      /** Where the call stands after `ms` of fake time: settled or not. */
      const settledAfter = async (call: Promise<unknown>, ms: number) => {
        let settled = false
        call.then(
          () => (settled = true),
          () => (settled = true),
        )
        await clock.advanceAsync(ms)
        return settled
      }
      for (const call of [
        () => cache.set('k', 'v'),
        () => cache.delete('k'),
        () => cache.getOrSet('fresh', () => 'loaded'),
      ]) {
        const running = call()
        // Before, each was the L2 step plus the publish (or the read plus the lock): twice the timeout.
        expect(await settledAfter(running, hard - 1)).toBe(false)
        expect(await settledAfter(running, 1)).toBe(true)
        await running
      }
    } finally {
      server.thaw()
    }
  })
})
