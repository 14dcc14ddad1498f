import { describe, expect, it } from 'vitest'
import { isBulwarkError } from '../core/errors.js'
import { fakeClock } from '../testing/fake-clock.js'
import { memoryCacheDriver } from './adapters/memory.js'
import { createCache } from './create-cache.js'
import type { CacheOptions } from './options.js'

const rejectsWith = async (promise: Promise<unknown>, code: Parameters<typeof isBulwarkError>[1], message?: RegExp) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isBulwarkError(error, code), `expected ${code}, got ${String(error)}`).toBe(true)
  if (message) expect((error as Error).message).toMatch(message)
}

describe('keys', () => {
  const clock = fakeClock(0)
  const l2 = memoryCacheDriver({ clock })
  const cache = createCache({ clock, l2, maxKeyLength: 64 })

  it.each([
    ['an empty string', '', /non-empty string/],
    ['a number', 42, /non-empty string, got 42/],
    ['undefined', undefined, /non-empty string/],
    ['a newline', 'a\nb', /control characters/],
    ['a NUL', 'a\u0000b', /control characters/],
    ['DEL', 'a\u007fb', /control characters/],
    ['a key over maxKeyLength', 'k'.repeat(65), /at most 64 characters/],
  ])('rejects %s with E_INVALID_KEY at every entry point, writing nothing', async (_name, key, message) => {
    const k = key as string
    await rejectsWith(
      cache.getOrSet(k, () => 1),
      'E_INVALID_KEY',
      message,
    )
    await rejectsWith(cache.get(k), 'E_INVALID_KEY', message)
    await rejectsWith(cache.set(k, 1), 'E_INVALID_KEY', message)
    await rejectsWith(cache.has(k), 'E_INVALID_KEY', message)
    await rejectsWith(cache.delete(k), 'E_INVALID_KEY', message)
    await rejectsWith(
      cache.getOrSetMany(['ok', k], () => [1, 2]),
      'E_INVALID_KEY',
      message,
    )
    await rejectsWith(cache.deleteByTag([k]), 'E_INVALID_KEY', message)
    expect(() => cache.namespace(k)).toThrow()
    expect(l2.size).toBe(0)
    expect(cache.stats()).toMatchObject({ l1Entries: 0, loads: 0 })
  })

  it('accepts unicode and spaces', async () => {
    expect(await cache.getOrSet('utilisateur: 🌍 ü', () => 'ok')).toBe('ok')
  })
})

describe('options', () => {
  it.each<[string, CacheOptions, RegExp]>([
    ['ttl', { ttl: 'soon' as never }, /Expected `ttl` to be a duration/],
    ['negative ttl', { ttl: -1 }, /`ttl`/],
    ['jitter above 1', { jitter: 1.5 }, /Expected `jitter` to be a number in \[0, 1\), got 1.5/],
    ['refreshAhead of 1', { refreshAhead: 1 }, /`refreshAhead`/],
    ['grace', { grace: '1 week' as never }, /`grace`/],
    ['soft above hard', { timeout: { soft: '2s', hard: '1s' } }, /`timeout.soft`/],
    ['hard of 0', { timeout: { hard: 0 } }, /`timeout.hard`/],
    ['maxEntries of 0', { l1: { maxEntries: 0 } }, /`l1.maxEntries`/],
    ['maxBytes as a string', { l1: { maxBytes: '1mb' as never } }, /`l1.maxBytes`/],
    ['l1.enabled as a string', { l1: { enabled: 'yes' as never } }, /`l1.enabled`/],
    ['a driver missing methods', { l2: { get() {} } as never }, /`l2`/],
    ['a bus missing methods', { bus: {} as never }, /`bus`/],
    ['a clock missing methods', { clock: { now: () => 0 } as never }, /`clock`/],
    ['a bad namespace', { namespace: '' }, /`namespace`/],
    ['tags that are not strings', { tags: [1] as never }, /`tags\[0\]`/],
    ['a breaker threshold of 0', { breaker: { failureRateThreshold: 0 } }, /`breaker.failureRateThreshold`/],
    ['a breaker window of 0 calls', { breaker: { window: { type: 'count', size: 0 } } }, /`breaker.window.size`/],
    [
      'a misspelt breaker option',
      { breaker: { minimumCall: 5 } as never },
      /Unknown option `breaker.minimumCall`; did you mean `breaker.minimumCalls`\?/,
    ],
    ['a breaker that is a number', { breaker: 5 as never }, /`breaker`/],
    ['a lock poll interval of 0', { lock: { pollInterval: 0 } }, /`lock.pollInterval`/],
    ['options that are not an object', 'fast' as never, /`options`/],
  ])('rejects %s at construction with E_INVALID_OPTION', (_name, options, message) => {
    expect(() => createCache(options)).toThrow(message)
    try {
      createCache(options)
    } catch (e) {
      expect(isBulwarkError(e, 'E_INVALID_OPTION') || isBulwarkError(e, 'E_INVALID_KEY')).toBe(true)
    }
  })

  it('rejects bad per-call options, naming them, and writes nothing', async () => {
    const clock = fakeClock(0)
    const l2 = memoryCacheDriver({ clock })
    const cache = createCache({ clock, l2 })
    let calls = 0
    const loader = () => ++calls
    await rejectsWith(cache.getOrSet('k', loader, { ttl: 'later' as never }), 'E_INVALID_OPTION', /`options.ttl`/)
    await rejectsWith(cache.getOrSet('k', loader, { jitter: -0.1 }), 'E_INVALID_OPTION', /`options.jitter`/)
    await rejectsWith(cache.set('k', 1, { tags: [''] }), 'E_INVALID_KEY', /`options.tags\[0\]`/)
    await rejectsWith(cache.getOrSet('k', loader, { lock: 'yes' as never }), 'E_INVALID_OPTION', /`options.lock`/)
    await rejectsWith(cache.getOrSet('k', 'not a function' as never), 'E_INVALID_ARGUMENT', /`loader`/)
    await rejectsWith(
      cache.getOrSetMany('k' as never, () => []),
      'E_INVALID_KEY',
      /`keys`/,
    )
    expect(calls).toBe(0)
    expect(l2.size).toBe(0)
  })

  it('derives the bus channel from a namespace without holding it to maxKeyLength (issue 8.4)', () => {
    const cache = createCache({ namespace: 'orders-service-cache-v2', maxKeyLength: 32 })
    expect(cache).toBeDefined()
    // A channel the user passes is still checked.
    expect(() => createCache({ channel: 'c'.repeat(33), maxKeyLength: 32 })).toThrow(/`channel`/)
  })

  it.each<[string, CacheOptions, RegExp]>([
    ['a ttl of 1e300', { ttl: 1e300 }, /`ttl`/],
    ['a ttl past the safe integers', { ttl: Number.MAX_SAFE_INTEGER }, /`ttl`/],
    ['a grace of 1e20', { grace: 1e20 }, /`grace`/],
    ['a negativeTtl in days past the limit', { negativeTtl: '99999999d' }, /`negativeTtl`/],
    ['a hard timeout past setTimeout', { timeout: { hard: 2 ** 31 } }, /`timeout.hard`/],
    ['a lock ttl of 1e300', { lock: { ttl: 1e300 } }, /`lock.ttl`/],
    ['a lock poll interval past setTimeout', { lock: { pollInterval: '30d' } }, /`lock.pollInterval`/],
  ])('rejects %s at construction (issue 8.5)', (_name, options, message) => {
    expect(() => createCache(options)).toThrow(message)
  })

  it('rejects a per-call duration no driver can store at the call, writing nothing (issue 8.5)', async () => {
    const clock = fakeClock(0)
    const l2 = memoryCacheDriver({ clock })
    const cache = createCache({ clock, l2 })
    await rejectsWith(cache.set('k', 1, { ttl: 1e300 }), 'E_INVALID_OPTION', /`options.ttl`/)
    await rejectsWith(cache.set('k', 1, { grace: 1e300 }), 'E_INVALID_OPTION', /`options.grace`/)
    await rejectsWith(
      cache.getOrSet('k', () => 1, { ttl: 1e300 }),
      'E_INVALID_OPTION',
      /`options.ttl`/,
    )
    await rejectsWith(cache.get('k', { timeout: { hard: 1e300 } }), 'E_INVALID_OPTION', /`options.timeout.hard`/)
    expect(await cache.get('k')).toBeUndefined()
    expect(l2.size).toBe(0)
    // The longest accepted duration is stored and read back.
    await cache.set('k', 1, { ttl: 1e15, grace: 1e15 })
    expect(await cache.get('k')).toBe(1)
  })

  it('rejects an unserializable value the same with or without L2 (issue 9.5)', async () => {
    const clock = fakeClock(0)
    for (const cache of [createCache({ clock }), createCache({ clock, l1: { maxBytes: 0 } })]) {
      await rejectsWith(cache.set('k', 10n), 'E_SERIALIZATION')
      await rejectsWith(
        cache.getOrSet('g', () => 10n),
        'E_SERIALIZATION',
      )
      expect(await cache.get('k')).toBeUndefined()
      expect(cache.stats().l1Entries).toBe(0)
    }
  })

  it('rejects values the serializer cannot write, before writing anything', async () => {
    const clock = fakeClock(0)
    const l2 = memoryCacheDriver({ clock })
    const cache = createCache({ clock, l2 })
    await rejectsWith(cache.set('k', 10n), 'E_SERIALIZATION')
    await rejectsWith(
      cache.set('k', () => 1),
      'E_SERIALIZATION',
    )
    expect(await cache.get('k')).toBeUndefined()
    expect(l2.size).toBe(0)
  })
})
