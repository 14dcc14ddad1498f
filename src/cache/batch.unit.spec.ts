import { describe, expect, it } from 'vitest'
import { deferred, ScriptedDriver } from '../../test/support/cache-scripted-driver.js'
import { fakeClock } from '../testing/fake-clock.js'
import { createCache } from './create-cache.js'

const setup = () => {
  const clock = fakeClock(0)
  const l2 = new ScriptedDriver(clock)
  const cache = createCache({ clock, l2, ttl: 1_000, breaker: false })
  return { clock, l2, cache }
}

describe('getOrSetMany', () => {
  it('answers from L1, then one L2 round trip, then one loader call with only the missing keys', async () => {
    const { clock, l2, cache } = setup()
    await cache.set('a', 'A') // in L1
    await createCache({ clock, l2, breaker: false }).set('b', 'B') // in L2 only
    const asked: string[][] = []
    const values = await cache.getOrSetMany(['a', 'b', 'c', 'd'], async (keys) => {
      asked.push(keys)
      return keys.map((k) => k.toUpperCase())
    })
    expect(values).toEqual(['A', 'B', 'C', 'D'])
    expect(asked).toEqual([['c', 'd']])
    expect(l2.calls.getMany).toBe(1)
    expect(l2.calls.get).toBe(0)
    expect(cache.stats()).toMatchObject({ l1Hits: 1, l2Hits: 1, misses: 2, loads: 1 })
    await cache.settled()
    expect(l2.calls.setMany).toBe(1)
    expect(await cache.getOrSetMany(['d', 'c'], () => Promise.reject(new Error('not called')))).toEqual(['D', 'C'])
  })

  it('keeps results aligned with the keys, duplicates included', async () => {
    const { cache } = setup()
    const asked: string[][] = []
    const values = await cache.getOrSetMany(['x', 'y', 'x'], (keys) => {
      asked.push(keys)
      return new Map(keys.map((k) => [k, `${k}!`]))
    })
    expect(values).toEqual(['x!', 'y!', 'x!'])
    expect(asked).toEqual([['x', 'y']])
  })

  it('accepts a Map or an object from the loader; a key it omits is a cached negative result', async () => {
    const { cache } = setup()
    expect(await cache.getOrSetMany(['1', '2'], () => new Map([['1', 'one']]))).toEqual(['one', undefined])
    expect(await cache.getOrSetMany(['3', '4'], async () => ({ 4: 'four' }))).toEqual([undefined, 'four'])
    let calls = 0
    expect(
      await cache.getOrSetMany(['2', '3'], () => {
        calls++
        return ['late', 'late']
      }),
    ).toEqual([undefined, undefined])
    expect(calls).toBe(0)
  })

  it('rejects a loader answer that does not align with the keys', async () => {
    const { cache } = setup()
    await expect(cache.getOrSetMany(['a', 'b'], () => ['only one'])).rejects.toThrow(/2 values aligned/)
    expect(cache.stats().l1Entries).toBe(0)
  })

  it('joins a getOrSet already loading one of the keys instead of loading it again', async () => {
    const { cache } = setup()
    const gate = deferred()
    const single = cache.getOrSet('a', async () => {
      await gate.promise
      return 'from getOrSet'
    })
    await new Promise((r) => setImmediate(r))
    const asked: string[][] = []
    const many = cache.getOrSetMany(['a', 'b'], (keys) => {
      asked.push(keys)
      return keys.map((k) => `batch ${k}`)
    })
    await new Promise((r) => setImmediate(r)) // the batch is past L1 and L2, and finds 'a' in flight
    gate.release()
    expect(await many).toEqual(['from getOrSet', 'batch b'])
    expect(await single).toBe('from getOrSet')
    expect(asked).toEqual([['b']])
  })

  it('a concurrent getOrSet joins the batch load', async () => {
    const { cache } = setup()
    const gate = deferred()
    let batchCalls = 0
    const many = cache.getOrSetMany(['a', 'b'], async (keys) => {
      batchCalls++
      await gate.promise
      return keys
    })
    await new Promise((r) => setImmediate(r))
    const single = cache.getOrSet('b', () => 'single')
    gate.release()
    expect(await many).toEqual(['a', 'b'])
    expect(await single).toBe('b')
    expect(batchCalls).toBe(1)
  })

  it('serves stale values within grace when the loader fails, else rethrows', async () => {
    const clock = fakeClock(0)
    const cache = createCache({ clock, ttl: 1_000, grace: 5_000 })
    await cache.getOrSetMany(['a', 'b'], (keys) => keys)
    clock.advance(2_000)
    const failing = () => Promise.reject(new Error('db down'))
    expect(await cache.getOrSetMany(['a', 'b'], failing)).toEqual(['a', 'b'])
    await expect(cache.getOrSetMany(['a', 'c'], failing)).rejects.toThrow('db down')
    expect(cache.stats()).toMatchObject({ staleServed: 2, loadErrors: 2 })
  })

  it('falls back to the loader when getMany fails', async () => {
    const { l2, cache } = setup()
    l2.mode = 'throw'
    expect(await cache.getOrSetMany(['a'], (keys) => keys)).toEqual(['a'])
    expect(cache.stats().l2Errors).toBeGreaterThan(0)
  })
})
