import { describe, expect, expectTypeOf, it } from 'vitest'
import { fakeClock } from '../testing/fake-clock.js'
import { memoryCacheDriver } from './adapters/memory.js'
import { createCache } from './create-cache.js'

const setup = (options: Parameters<typeof createCache>[0] = {}) => {
  const clock = fakeClock(0)
  const l2 = memoryCacheDriver({ clock })
  const cache = createCache({ clock, l2, ttl: 1_000, ...options })
  return { clock, l2, cache }
}

describe('getOrSet', () => {
  it('loads once, then answers from L1 until the TTL passes', async () => {
    const { clock, cache } = setup()
    let calls = 0
    const loader = async () => ++calls
    expect(await cache.getOrSet('k', loader)).toBe(1)
    expect(await cache.getOrSet('k', loader)).toBe(1)
    clock.advance(999)
    expect(await cache.getOrSet('k', loader)).toBe(1)
    clock.advance(1)
    expect(await cache.getOrSet('k', loader)).toBe(2)
    expect(cache.stats()).toMatchObject({ l1Hits: 2, misses: 2, loads: 2, l2Hits: 0 })
  })

  it('answers from L2 when L1 lacks the key, and fills L1', async () => {
    const { clock, l2 } = setup()
    const writer = createCache({ clock, l2, ttl: 1_000 })
    await writer.set('k', { name: 'from l2' })
    const reader = createCache({ clock, l2, ttl: 1_000 })
    const loader = async () => ({ name: 'loaded' })
    expect(await reader.getOrSet('k', loader)).toEqual({ name: 'from l2' })
    expect(await reader.getOrSet('k', loader)).toEqual({ name: 'from l2' })
    expect(reader.stats()).toMatchObject({ l2Hits: 1, l1Hits: 1, loads: 0, misses: 0 })
  })

  it('writes loaded values to L2 with their expiry and version', async () => {
    const { clock, l2, cache } = setup({ grace: 500 })
    await cache.getOrSet('k', () => 'v')
    await cache.settled()
    const stored = await l2.get('bulwark:k')
    expect(stored).toMatchObject({ value: '"v"', expiresAt: 1_000, staleUntil: 1_500 })
    expect(stored?.version).toBeGreaterThan(0)
    clock.advance(1_500)
    expect(await l2.get('bulwark:k')).toBeUndefined()
  })

  it('round-trips undefined and null through L2', async () => {
    const { clock, l2, cache } = setup()
    await cache.set('u', undefined)
    await cache.set('n', null)
    const other = createCache({ clock, l2 })
    expect(await other.getOrSet('u', () => 'loaded')).toBeUndefined()
    expect(await other.getOrSet('n', () => 'loaded')).toBeNull()
    expect(other.stats().loads).toBe(0)
  })

  it('rethrows a loader error to every waiting caller and retries on the next call', async () => {
    const { cache } = setup()
    let calls = 0
    const failing = async () => {
      calls++
      throw new Error('db down')
    }
    const results = await Promise.allSettled([cache.getOrSet('k', failing), cache.getOrSet('k', failing)])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(calls).toBe(1)
    expect(await cache.getOrSet('k', () => 'ok')).toBe('ok')
    expect(cache.stats()).toMatchObject({ loads: 2, loadErrors: 1 })
  })
})

describe('single-flight', () => {
  it('1,000 concurrent misses of one key call the loader once', async () => {
    const { cache } = setup()
    let calls = 0
    let release!: (v: string) => void
    const loader = () => {
      calls++
      return new Promise<string>((resolve) => {
        release = resolve
      })
    }
    const all = Array.from({ length: 1_000 }, () => cache.getOrSet('hot', loader))
    await new Promise((r) => setImmediate(r))
    release('value')
    const values = await Promise.all(all)
    expect(calls).toBe(1)
    expect(new Set(values)).toEqual(new Set(['value']))
    expect(cache.stats()).toMatchObject({ loads: 1, misses: 1 })
  })

  it('keeps keys apart', async () => {
    const { cache } = setup()
    const seen: string[] = []
    await Promise.all(['a', 'b', 'a', 'b'].map((k) => cache.getOrSet(k, async () => seen.push(k))))
    expect(seen.sort()).toEqual(['a', 'b'])
  })
})

describe('TTL', () => {
  it('keeps jittered TTLs within ±jitter of the TTL, and spreads them', async () => {
    const { clock, cache } = setup({ l2: undefined, ttl: 10_000, jitter: 0.2 })
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`)
    for (const k of keys) await cache.set(k, k)
    const alive = async () => (await Promise.all(keys.map((k) => cache.get(k)))).filter((v) => v !== undefined).length
    clock.advance(7_999)
    expect(await alive()).toBe(200)
    clock.advance(2_001) // 10s: about half expired
    const atTtl = await alive()
    expect(atTtl).toBeGreaterThan(40)
    expect(atTtl).toBeLessThan(160)
    clock.advance(2_000) // 12s: the upper bound
    expect(await alive()).toBe(0)
  })

  it('takes per-call TTLs in ms or as strings', async () => {
    const { clock, cache } = setup()
    await cache.set('short', 1, { ttl: '100ms' })
    await cache.getOrSet('long', () => 2, { ttl: '1h' })
    clock.advance(101)
    expect(await cache.get('short')).toBeUndefined()
    clock.advance(3_599_000)
    expect(await cache.get('long')).toBe(2)
  })

  it('caches null and undefined results for negativeTtl, and not at all with 0', async () => {
    const { clock, cache } = setup({ negativeTtl: 100 })
    let calls = 0
    const none = async () => {
      calls++
      return null
    }
    await cache.getOrSet('missing', none)
    clock.advance(99)
    await cache.getOrSet('missing', none)
    expect(calls).toBe(1)
    clock.advance(1)
    await cache.getOrSet('missing', none)
    expect(calls).toBe(2)
    await cache.getOrSet('nothing', none, { negativeTtl: 0 })
    await cache.getOrSet('nothing', none, { negativeTtl: 0 })
    expect(calls).toBe(4)
    expect(await cache.getOrSet('value', async () => 'x')).toBe('x')
    clock.advance(500)
    expect(await cache.get('value')).toBe('x') // a real value keeps the full TTL
  })
})

describe('expired entries', () => {
  it('leave L1 on the next miss once past their grace', async () => {
    const { clock, cache } = setup({ grace: 500 })
    await cache.getOrSet('k', () => 1)
    clock.advance(1_200)
    expect(cache.stats().l1Entries).toBe(1) // stale, still servable
    clock.advance(300)
    await cache.getOrSet('k', () => Promise.reject(new Error('down'))).catch(() => {})
    expect(cache.stats().l1Entries).toBe(0)
  })
})

describe('grace (fail-safe)', () => {
  it('serves the stale value when the loader fails, for at most `grace` past expiry', async () => {
    const { clock, cache } = setup({ grace: 5_000 })
    await cache.getOrSet('k', () => 'old')
    const failing = async (): Promise<string> => {
      throw new Error('db down')
    }
    clock.advance(1_000)
    expect(await cache.getOrSet('k', failing)).toBe('old')
    clock.advance(4_999) // 5,999 ms: 1 ms of grace left
    expect(await cache.getOrSet('k', failing)).toBe('old')
    clock.advance(1)
    await expect(cache.getOrSet('k', failing)).rejects.toThrow('db down')
    expect(cache.stats()).toMatchObject({ staleServed: 2, loadErrors: 3 })
  })

  it('serves a stale value found in L2 when L1 has none', async () => {
    const { clock, l2 } = setup()
    await createCache({ clock, l2, ttl: 1_000, grace: 5_000 }).set('k', 'stale in l2')
    clock.advance(2_000)
    const fresh = createCache({ clock, l2, ttl: 1_000, grace: 5_000 })
    expect(await fresh.getOrSet('k', () => Promise.reject(new Error('down')))).toBe('stale in l2')
  })

  it('serves an L2 entry until just before its staleUntil, on the same boundary as L1 (`now < staleUntil`)', async () => {
    // The driver's own clock stays behind, as a Redis whose expiry has not fired yet: the cache decides alone.
    const clock = fakeClock(0)
    const l2 = memoryCacheDriver({ clock: fakeClock(0) })
    await createCache({ clock, l2, ttl: 1_000, grace: 5_000 }).set('k', 'stale in l2')
    const down = () => Promise.reject(new Error('down'))
    clock.advance(5_999)
    expect(await createCache({ clock, l2, ttl: 1_000, grace: 5_000 }).getOrSet('k', down)).toBe('stale in l2')
    // Servable when read, but the loader fails at 6,000 ms: the grace is over by then.
    const slowDown = () => {
      clock.advance(1)
      return down()
    }
    await expect(createCache({ clock, l2, ttl: 1_000, grace: 5_000 }).getOrSet('k', slowDown)).rejects.toThrow('down')
    await expect(createCache({ clock, l2, ttl: 1_000, grace: 5_000 }).getOrSet('k', down)).rejects.toThrow('down')
  })

  it('never serves stale values without grace', async () => {
    const { clock, cache } = setup()
    await cache.set('k', 'old')
    clock.advance(1_000)
    await expect(cache.getOrSet('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down')
    expect(await cache.get('k')).toBeUndefined()
  })
})

describe('refresh-ahead', () => {
  it('past the fraction, returns the current value and starts one background refresh however many callers', async () => {
    const { clock, cache } = setup({ refreshAhead: 0.8 })
    let calls = 0
    let release!: () => void
    const loader = () => {
      calls++
      if (calls === 1) return Promise.resolve('v1')
      return new Promise<string>((resolve) => {
        release = () => resolve(`v${calls}`)
      })
    }
    expect(await cache.getOrSet('k', loader)).toBe('v1')
    clock.advance(799)
    expect(await cache.getOrSet('k', loader)).toBe('v1')
    expect(calls).toBe(1)
    clock.advance(1)
    const during = await Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('k', loader)))
    expect(new Set(during)).toEqual(new Set(['v1']))
    expect(calls).toBe(2)
    release()
    await cache.settled()
    expect(await cache.getOrSet('k', loader)).toBe('v2')
    expect(cache.stats()).toMatchObject({ refreshes: 1, loads: 2 })
    clock.advance(999) // the refreshed entry lives a full TTL from its refresh
    expect(await cache.get('k')).toBe('v2')
  })

  it('a failed refresh leaves the current value until it expires', async () => {
    const { clock, cache } = setup({ refreshAhead: 0.5 })
    await cache.getOrSet('k', () => 'v1')
    clock.advance(600)
    const failing = () => Promise.reject(new Error('down'))
    expect(await cache.getOrSet('k', failing)).toBe('v1')
    await cache.settled()
    expect(await cache.getOrSet('k', failing)).toBe('v1')
    expect(cache.stats()).toMatchObject({ refreshes: 1, loadErrors: 1 })
  })
})

describe('tags', () => {
  it('deletes tagged entries from L1 and L2, and only those', async () => {
    const { clock, l2, cache } = setup({ tags: ['all'] })
    await cache.set('p1', 1, { tags: ['products'] })
    await cache.getOrSet('p2', () => 2, { tags: ['products', 'featured'] })
    await cache.set('u1', 3, { tags: ['users'] })
    await cache.settled()
    await cache.deleteByTag('products')
    expect(await cache.get('p1')).toBeUndefined()
    expect(await cache.get('p2')).toBeUndefined()
    expect(await cache.get('u1')).toBe(3)
    expect(await l2.get('bulwark:p2')).toBeUndefined()
    expect((await l2.get('bulwark:u1'))?.tags).toEqual(['all', 'users'])
    await cache.deleteByTag(['all'])
    expect(await cache.get('u1')).toBeUndefined()
    const other = createCache({ clock, l2 })
    expect(await other.get('u1')).toBeUndefined()
  })
})

describe('namespaces', () => {
  it('prefix keys, share L1 and L2, and clear only their own keys', async () => {
    const { l2, cache } = setup()
    const users = cache.namespace('users')
    const orders = cache.namespace('orders')
    await users.set('1', 'alice')
    await orders.set('1', 'order')
    await cache.set('1', 'root')
    expect(await users.get('1')).toBe('alice')
    expect(await l2.get('bulwark:users:1')).toMatchObject({ value: '"alice"' })
    await users.clear()
    expect(await users.get('1')).toBeUndefined()
    expect(await orders.get('1')).toBe('order')
    expect(await cache.get('1')).toBe('root')
    await cache.clear()
    expect(await orders.get('1')).toBeUndefined()
    expect(cache.stats().l1Entries).toBe(0)
  })

  it('clear never touches keys outside the namespace', async () => {
    const { clock, l2 } = setup()
    const a = createCache({ clock, l2, namespace: 'app-a' })
    const b = createCache({ clock, l2, namespace: 'app-b' })
    await a.set('k', 'a')
    await b.set('k', 'b')
    await a.clear()
    expect(await l2.get('app-b:k')).toBeDefined()
    expect(await createCache({ clock, l2, namespace: 'app-b' }).get('k')).toBe('b')
  })
})

describe('L1 bounds', () => {
  it('stays within maxBytes, evicting the least recently used', async () => {
    const { cache } = setup({ l2: undefined, l1: { maxBytes: 10_000 } })
    const payload = 'x'.repeat(1_000) // about 2 KB an entry
    for (let i = 0; i < 20; i++) await cache.set(`k${i}`, payload)
    const { l1Bytes, l1Entries } = cache.stats()
    expect(l1Bytes).toBeLessThanOrEqual(10_000)
    expect(l1Entries).toBeGreaterThan(0)
    expect(l1Entries).toBeLessThan(20)
    expect(await cache.get('k19')).toBe(payload)
    expect(await cache.get('k0')).toBeUndefined()
  })

  it('stays within maxEntries', async () => {
    const { cache } = setup({ l2: undefined, l1: { maxEntries: 3 } })
    for (const k of ['a', 'b', 'c', 'd']) await cache.set(k, k)
    expect(cache.stats().l1Entries).toBe(3)
    expect(await cache.get('a')).toBeUndefined()
  })

  it('with L1 off, every read goes to L2', async () => {
    const { clock, l2 } = setup()
    const cache = createCache({ clock, l2, l1: { enabled: false } })
    await cache.set('k', 1)
    expect(await cache.get('k')).toBe(1)
    expect(await cache.get('k')).toBe(1)
    expect(cache.stats()).toMatchObject({ l1Hits: 0, l2Hits: 2, l1Entries: 0 })
  })
})

describe('set, delete, has', () => {
  it('has sees fresh values in either level; delete removes from both', async () => {
    const { clock, l2, cache } = setup()
    await cache.set('k', 1)
    expect(await cache.has('k')).toBe(true)
    const other = createCache({ clock, l2 })
    expect(await other.has('k')).toBe(true)
    expect(await cache.delete('k')).toBe(true)
    expect(await cache.delete('k')).toBe(false)
    expect(await cache.has('k')).toBe(false)
    expect(await other.has('k')).toBe(false)
  })

  it('a TTL of 0 does not cache and removes the old value', async () => {
    const { cache } = setup()
    await cache.set('k', 1)
    await cache.set('k', 2, { ttl: 0 })
    expect(await cache.get('k')).toBeUndefined()
  })

  it('emits events', async () => {
    const { cache } = setup()
    const seen: string[] = []
    cache.on('miss', (k) => seen.push(`miss:${k}`)).on('load', (k) => seen.push(`load:${k}`))
    await cache.getOrSet('k', () => 1)
    expect(seen).toEqual(['miss:k', 'load:k'])
  })

  it('emits hit with the key alone, for L2 hits only', async () => {
    const { clock, l2, cache } = setup()
    await createCache({ clock, l2, ttl: 1_000 }).set('k', 1)
    const hits: unknown[][] = []
    cache.on('hit', (...args) => hits.push(args))
    await cache.getOrSet('k', () => 2) // from L2
    await cache.getOrSet('k', () => 2) // from L1: no event
    expect(hits).toEqual([['k']])
  })
})

describe('types', () => {
  it('infers values from loaders and lets get name its type', () => {
    const { cache } = setup()
    expectTypeOf(cache.getOrSet('k', async () => 1)).resolves.toEqualTypeOf<number>()
    expectTypeOf(cache.getOrSet('k', () => 'sync')).resolves.toEqualTypeOf<string>()
    expectTypeOf(cache.getOrSetMany(['a'], (keys) => keys.map(Number))).resolves.toEqualTypeOf<(number | undefined)[]>()
    expectTypeOf(cache.get<{ id: number }>('k')).resolves.toEqualTypeOf<{ id: number } | undefined>()
    expectTypeOf(cache.namespace('n')).toEqualTypeOf(cache)
    // @ts-expect-error durations are ms or unit strings
    void cache.set('k', 1, { ttl: '5 minutes' }).catch(() => {})
  })
})
