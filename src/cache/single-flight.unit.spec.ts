import { describe, expect, it } from 'vitest'
import { deferred } from '../../test/support/cache-scripted-driver.js'
import { fakeClock } from '../testing/fake-clock.js'
import { memoryCacheDriver } from './adapters/memory.js'
import { MemoryBusHub, memoryBus } from './adapters/memory-bus.js'
import { createCache } from './create-cache.js'
import type { CacheOptions } from './options.js'
import { Flights, MAX_IDLE_KEYS } from './single-flight.js'

const setup = (options: CacheOptions = {}) => {
  const clock = fakeClock(0)
  const l2 = memoryCacheDriver({ clock })
  const cache = createCache({ clock, l2, ttl: 10_000, ...options })
  return { clock, l2, cache }
}

/** A loader that answers `value` once the test releases it. */
const slow = (value: string) => {
  const gate = deferred()
  const loader = async () => {
    await gate.promise
    return value
  }
  return { release: gate.release, loader }
}

const storedValue = async (l2: ReturnType<typeof memoryCacheDriver>, key: string) => (await l2.get(key))?.value

describe('single-flight after an invalidation (issue 8.1)', () => {
  it.each<[string, CacheOptions]>([
    ['with L1', {}],
    ['with L1 disabled', { l1: { enabled: false } }],
  ])('a delete detaches the load in flight from new callers (%s)', async (_name, options) => {
    const { l2, cache } = setup(options)
    const old = slow('old row')
    const first = cache.getOrSet('k', old.loader)
    await Promise.resolve()
    await cache.delete('k')
    const second = cache.getOrSet('k', () => 'new row')
    old.release() // released before awaiting: a caller that joined the old load gets its value
    expect(await second).toBe('new row')
    expect(await first).toBe('old row') // the old load still answers its own caller
    await cache.settled()
    expect(await cache.get('k')).toBe('new row')
    expect(await storedValue(l2, 'bulwark:k')).toBe('"new row"')
  })

  it.each<[string, CacheOptions]>([
    ['with L1', {}],
    ['with L1 disabled', { l1: { enabled: false } }],
  ])('a set detaches the load in flight, which is not stored over it (%s)', async (_name, options) => {
    const { l2, cache } = setup(options)
    const old = slow('old row')
    const first = cache.getOrSet('k', old.loader)
    await Promise.resolve()
    await cache.set('k', 'v2')
    const second = cache.getOrSet('k', () => 'loaded')
    old.release()
    expect(await second).toBe('v2')
    expect(await first).toBe('old row')
    await cache.settled()
    expect(await cache.get('k')).toBe('v2')
    expect(await storedValue(l2, 'bulwark:k')).toBe('"v2"')
  })

  it('an invalidation received from another process detaches the load in flight', async () => {
    const clock = fakeClock(0)
    const l2 = memoryCacheDriver({ clock })
    const hub = new MemoryBusHub()
    const here = createCache({ clock, l2, bus: memoryBus({ hub }), ttl: 10_000 })
    const there = createCache({ clock, l2, bus: memoryBus({ hub }), ttl: 10_000 })
    await Promise.all([here.ready(), there.ready()])
    const old = slow('old row')
    const first = here.getOrSet('k', old.loader)
    await Promise.resolve()
    await there.set('k', 'v2')
    expect(here.stats().invalidationsReceived).toBe(1)
    const second = here.getOrSet('k', () => 'loaded')
    old.release()
    expect(await second).toBe('v2')
    expect(await first).toBe('old row')
    await here.settled()
    expect(await here.get('k')).toBe('v2')
    expect(await storedValue(l2, 'bulwark:k')).toBe('"v2"')
  })

  it.each<[string, (cache: ReturnType<typeof createCache>) => Promise<void>]>([
    ['clear', (cache) => cache.clear()],
    ['deleteByTag', (cache) => cache.deleteByTag('rows')],
  ])('%s detaches the loads in flight of the keys it covers', async (_name, invalidate) => {
    const { l2, cache } = setup({ tags: ['rows'] })
    const old = slow('old row')
    const first = cache.getOrSet('k', old.loader)
    await Promise.resolve()
    await invalidate(cache)
    const second = cache.getOrSet('k', () => 'new row')
    old.release()
    expect(await second).toBe('new row')
    expect(await first).toBe('old row')
    await cache.settled()
    expect(await cache.get('k')).toBe('new row')
    expect(await storedValue(l2, 'bulwark:k')).toBe('"new row"')
  })

  it('a namespace clear leaves loads outside it joined', async () => {
    const { cache } = setup()
    let calls = 0
    const gate = deferred()
    const loader = async () => {
      await gate.promise
      return ++calls
    }
    const first = cache.getOrSet('k', loader)
    await Promise.resolve()
    await cache.namespace('other').clear()
    const second = cache.getOrSet('k', loader)
    gate.release()
    expect([await first, await second]).toEqual([1, 1])
  })
})

describe('Flights', () => {
  it('keeps a landed key without its promise, and forgets such keys in one sweep past the bound', () => {
    const flights = new Flights()
    const held = Promise.resolve('held')
    flights.start('held', held)
    for (let i = 0; i <= MAX_IDLE_KEYS; i++) {
      const promise = Promise.resolve(i)
      flights.start(`k${i}`, promise)
      expect(flights.get(`k${i}`)).toBe(promise)
      flights.land(`k${i}`, promise)
      expect(flights.get(`k${i}`)).toBeUndefined()
    }
    // The sweep ran when the idle keys passed the bound: only the flight in progress is left.
    expect(flights.size).toBe(1)
    expect(flights.get('held')).toBe(held)
  })

  it('lands only the flight it is given, and detaches by key and by prefix', () => {
    const flights = new Flights()
    const [a, b, c] = [Promise.resolve(1), Promise.resolve(2), Promise.resolve(3)]
    flights.start('users:1', a)
    flights.detach('users:1')
    flights.start('users:1', b) // a new flight after the detach
    flights.land('users:1', a) // the old one ending does not land the new one
    expect(flights.get('users:1')).toBe(b)
    flights.start('orders:1', c)
    flights.detachPrefix('users:')
    expect(flights.get('users:1')).toBeUndefined()
    expect(flights.get('orders:1')).toBe(c)
    flights.detachPrefix('')
    expect(flights.get('orders:1')).toBeUndefined()
    expect(flights.size).toBe(0)
  })
})
