import { describe, expect, it } from 'vitest'
import { deferred, ScriptedDriver } from '../../test/support/cache-scripted-driver.js'
import { circuitBreaker } from '../breaker/index.js'
import { isBulwarkError } from '../core/errors.js'
import { fakeClock } from '../testing/fake-clock.js'
import { createCache } from './create-cache.js'
import type { CacheOptions } from './options.js'

const setup = (options: CacheOptions = {}) => {
  const clock = fakeClock(0)
  const l2 = new ScriptedDriver(clock)
  const cache = createCache({ clock, l2, ttl: 10_000, timeout: { hard: 100 }, breaker: false, ...options })
  return { clock, l2, cache }
}

/** Tracks whether a promise has settled, to show a caller is still waiting (or no longer). */
const watch = <T>(promise: Promise<T>) => {
  const state = { settled: false, value: undefined as T | undefined }
  promise.then((v) => {
    state.settled = true
    state.value = v
  })
  return state
}

describe('an L2 that throws', () => {
  it('never fails a caller: reads fall back to the loader, writes resolve, errors are counted', async () => {
    const { l2, cache } = setup()
    const errors: string[] = []
    cache.on('l2Error', (operation) => errors.push(operation))
    l2.mode = 'throw'
    expect(await cache.getOrSet('k', () => 'loaded')).toBe('loaded')
    await cache.set('s', 1)
    expect(await cache.get('s')).toBe(1) // L1 still works
    expect(await cache.get('missing')).toBeUndefined()
    expect(await cache.has('missing')).toBe(false)
    await cache.delete('s')
    await cache.deleteByTag('t')
    await cache.clear()
    expect(await cache.getOrSetMany(['a', 'b'], (keys) => keys.map((k) => k.toUpperCase()))).toEqual(['A', 'B'])
    await cache.settled()
    expect(errors).toEqual(
      expect.arrayContaining(['get', 'set', 'delete', 'deleteByTags', 'clear', 'getMany', 'setMany']),
    )
    expect(cache.stats().l2Errors).toBe(errors.length)
  })

  it('serves a stale L1 value within grace when the loader fails too', async () => {
    const { clock, l2, cache } = setup({ grace: '1m' })
    await cache.set('k', 'old')
    clock.advance(10_000)
    l2.mode = 'throw'
    expect(await cache.getOrSet('k', () => Promise.reject(new Error('db down')))).toBe('old')
    expect(await cache.get('k')).toBe('old')
    expect(cache.stats().staleServed).toBe(2)
  })
})

describe('an L2 that hangs', () => {
  it('gives up at the hard timeout and answers from the loader', async () => {
    const { clock, l2, cache } = setup()
    l2.mode = 'hang'
    const call = watch(cache.getOrSet('k', () => 'loaded'))
    await clock.advanceAsync(99)
    expect(call.settled).toBe(false)
    await clock.advanceAsync(1)
    expect(call).toEqual({ settled: true, value: 'loaded' })
    expect(cache.stats().l2Errors).toBe(1)
  })

  it('falls back to the loader at the soft timeout', async () => {
    const { clock, l2, cache } = setup({ timeout: { soft: 20, hard: 1_000 } })
    l2.mode = 'hang'
    const call = watch(cache.getOrSet('k', () => 'loaded'))
    await clock.advanceAsync(20)
    expect(call).toEqual({ settled: true, value: 'loaded' })
    expect(cache.stats().l2Errors).toBe(0) // the L2 call is still running, up to the hard timeout
    await clock.advanceAsync(1_000)
    await cache.settled()
    expect(cache.stats().l2Errors).toBe(2) // the read, and the background write of the loaded value
  })

  it('bounds writes and deletes by the hard timeout', async () => {
    const { clock, l2, cache } = setup()
    l2.mode = 'hang'
    const set = watch(cache.set('k', 1))
    const del = watch(cache.delete('j'))
    await clock.advanceAsync(100)
    expect(set.settled && del.settled).toBe(true)
    expect(await cache.get('k')).toBe(1)
  })
})

/** A bus whose publishes never answer (a frozen Redis), counting them. */
const hungBus = () => {
  const bus = {
    publishes: 0,
    subscribe: async () => {},
    publish: () => {
      bus.publishes++
      return new Promise<void>(() => {})
    },
    close: async () => {},
  }
  return bus
}

describe('one hard timeout per call in total (issue 8.2)', () => {
  it.each<[string, (cache: ReturnType<typeof createCache>) => Promise<unknown>]>([
    ['set', (cache) => cache.set('k', 1)],
    ['delete', (cache) => cache.delete('k')],
    ['deleteByTag', (cache) => cache.deleteByTag('t')],
    ['clear', (cache) => cache.clear()],
  ])('%s on a hung L2 and bus settles at the hard timeout, not twice it', async (_name, call) => {
    const { clock, l2, cache } = setup({ bus: hungBus() })
    l2.mode = 'hang'
    const pending = watch(call(cache))
    await clock.advanceAsync(99)
    expect(pending.settled).toBe(false)
    await clock.advanceAsync(1)
    expect(pending.settled).toBe(true)
  })

  it('getOrSet with lock on a hung L2 calls the loader at the hard timeout (read and lock share it)', async () => {
    const { clock, l2, cache } = setup({ lock: true })
    l2.mode = 'hang'
    const pending = watch(cache.getOrSet('k', () => 'loaded'))
    await clock.advanceAsync(100)
    expect(pending).toEqual({ settled: true, value: 'loaded' })
    expect(l2.calls.acquireLock).toBe(0) // no time was left for it
  })

  it('the publish goes through the L2 breaker: refused at once while it is open', async () => {
    const bus = hungBus()
    const { clock, l2, cache } = setup({
      bus,
      breaker: { minimumCalls: 2, window: { type: 'count', size: 2 }, failureRateThreshold: 0.5, openDuration: '5s' },
    })
    l2.mode = 'throw'
    await cache.get('a')
    await cache.get('b')
    const busErrors = cache.stats().busErrors
    const pending = watch(cache.set('k', 1))
    await clock.advanceAsync(0)
    expect(pending.settled).toBe(true)
    expect(bus.publishes).toBe(0)
    expect(cache.stats().busErrors).toBe(busErrors + 1)
  })
})

describe('the circuit breaker around L2', () => {
  it('opens after failures, stops calling L2, and closes again once L2 answers', async () => {
    const { clock, l2, cache } = setup({
      breaker: { minimumCalls: 4, window: { type: 'count', size: 4 }, failureRateThreshold: 0.5, openDuration: '5s' },
    })
    l2.mode = 'throw'
    for (let i = 0; i < 4; i++) expect(await cache.getOrSet(`k${i}`, () => i)).toBe(i)
    await cache.settled()
    const callsWhenOpen = l2.calls.get
    const refused: unknown[] = []
    cache.on('l2Error', (_op, error) => refused.push(error))
    for (let i = 4; i < 10; i++) expect(await cache.getOrSet(`k${i}`, () => i)).toBe(i)
    expect(l2.calls.get).toBe(callsWhenOpen)
    expect(refused.some((e) => isBulwarkError(e, 'E_CIRCUIT_OPEN'))).toBe(true)

    l2.mode = 'ok'
    await clock.advanceAsync(5_000)
    await cache.set('back', 'in l2')
    await cache.settled()
    expect(await l2.inner.get('bulwark:back')).toBeDefined()
  })
})

describe('the breaker option', () => {
  it('takes a breaker as is: the cache goes through it (here isolated, so L2 is never called)', async () => {
    const clock = fakeClock(0)
    const breaker = circuitBreaker({ name: 'shared-redis', clock })
    const { l2, cache } = setup({ breaker })
    const refused: unknown[] = []
    cache.on('l2Error', (_op, error) => refused.push(error))
    breaker.isolate()
    expect(await cache.getOrSet('k', () => 'loaded')).toBe('loaded')
    await cache.set('s', 1)
    await cache.settled()
    expect(l2.calls.get + l2.calls.set).toBe(0)
    expect(refused.length).toBeGreaterThan(0)
    expect(refused.every((e) => isBulwarkError(e, 'E_CIRCUIT_ISOLATED'))).toBe(true)
    expect((refused[0] as { context: { name: string } }).context.name).toBe('shared-redis')
  })

  it('counts a set (L2 write, then publish) as one call of the breaker, and a read as one', async () => {
    const clock = fakeClock(0)
    const breaker = circuitBreaker({ clock })
    const published: unknown[] = []
    const bus = {
      subscribe: async () => {},
      publish: async (_channel: string, message: unknown) => {
        published.push(message)
      },
      close: async () => {},
    }
    const { cache } = setup({ breaker, bus })
    await cache.set('k', 1)
    expect(published).toHaveLength(1)
    expect(breaker.metrics().calls).toBe(1)
    await cache.getOrSet('j', () => 2)
    await cache.settled()
    expect(breaker.metrics().calls).toBe(3) // the read, and the write-through of the loaded value
  })

  it('counts a set whose publish fails as one failed call', async () => {
    const clock = fakeClock(0)
    const breaker = circuitBreaker({ clock })
    const bus = {
      subscribe: async () => {},
      publish: async () => {
        throw new Error('bus down')
      },
      close: async () => {},
    }
    const { cache } = setup({ breaker, bus })
    await cache.set('k', 1)
    expect(breaker.metrics()).toMatchObject({ calls: 1, failures: 1 })
    expect(cache.stats()).toMatchObject({ busErrors: 1, l2Errors: 0 })
  })

  it('merges breaker options over the cache defaults (10 calls at least, half of them failed, named after the namespace)', async () => {
    const { l2, cache } = setup({ breaker: {}, namespace: 'shop' })
    const refused: unknown[] = []
    cache.on('l2Error', (_op, error) => {
      if (isBulwarkError(error, 'E_CIRCUIT_OPEN')) refused.push(error)
    })
    l2.mode = 'throw'
    for (let i = 0; i < 9; i++) await cache.get(`k${i}`)
    expect(refused).toEqual([]) // 9 failures: below minimumCalls
    await cache.get('k9')
    await cache.get('k10')
    expect(refused.length).toBe(1)
    expect((refused[0] as { context: { name: string } }).context.name).toBe('cache:shop:l2')
  })
})

describe('versions', () => {
  it('a slow L2 read never puts an older value over a newer local write', async () => {
    const { clock, l2 } = setup()
    const writer = createCache({ clock, l2, breaker: false })
    await writer.set('k', 'old')
    const cache = createCache({ clock, l2, breaker: false })
    l2.holdGets = deferred()
    const slow = cache.get('k') // reads 'old' from L2 now, answers later
    await new Promise((r) => setImmediate(r))
    await cache.set('k', 'new')
    l2.holdGets.release()
    l2.holdGets = undefined
    expect(await slow).toBe('old') // the read answers what it read...
    expect(await cache.get('k')).toBe('new') // ...but L1 keeps the newer write
    expect(cache.stats().l1Hits).toBe(1)
  })

  it('a slow L2 read never repopulates L1 after a local delete', async () => {
    const { clock, l2, cache } = setup()
    await createCache({ clock, l2, breaker: false }).set('k', 'old')
    l2.holdGets = deferred()
    const slow = cache.getOrSet('k', () => 'loaded')
    await new Promise((r) => setImmediate(r))
    await cache.delete('k')
    l2.holdGets.release()
    l2.holdGets = undefined
    await slow
    expect(cache.stats().l1Entries).toBe(0)
    expect(await cache.get('k')).toBeUndefined()
  })

  it('a load that overlaps a local write does not overwrite it', async () => {
    const { cache } = setup()
    const gate = deferred()
    const loading = cache.getOrSet('k', async () => {
      await gate.promise
      return 'loaded before the write'
    })
    await new Promise((r) => setImmediate(r))
    await cache.set('k', 'written')
    gate.release()
    expect(await loading).toBe('loaded before the write')
    await cache.settled()
    expect(await cache.get('k')).toBe('written')
  })

  it('versions increase with every write, even when the clock stands still', async () => {
    const { l2, cache } = setup()
    await cache.set('a', 1)
    await cache.set('a', 2)
    await cache.set('b', 3)
    const [a, b] = await l2.inner.getMany(['bulwark:a', 'bulwark:b'])
    expect(b?.version).toBeGreaterThan(a?.version ?? Number.POSITIVE_INFINITY)
  })
})
