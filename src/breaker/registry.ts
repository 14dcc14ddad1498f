import { LRUCache } from 'lru-cache'
import type { Clock } from '../core/clock.js'
import type { Duration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import { expectOptions, optionalClock, optionalDuration, optionalNumber, optionKeys } from '../core/validate.js'
import { CircuitBreaker } from './breaker.js'
import type { BreakerMetrics } from './events.js'
import type { CircuitBreakerOptions } from './options.js'
import type { PolicyFn } from './types.js'

/** Options of {@link createBreakerRegistry}. */
export interface BreakerRegistryOptions {
  /** Options every breaker of the registry starts from; per-name options override them. @default {} */
  defaults?: CircuitBreakerOptions
  /** Per-key breakers kept per group at most; the least recently used is evicted beyond. @default 10000 */
  maxKeys?: number
  /** A per-key breaker unused for this long is evicted (it starts closed if the key comes back). @default '10m' */
  idleTtl?: Duration
  /** Used by the breakers (unless their options name another) and for idle eviction. @default systemClock */
  clock?: Clock
}

/** One breaker of a registry, as listed by {@link BreakerRegistry.list}. */
export interface RegisteredBreaker {
  name: string
  /** The key of a per-key breaker, undefined for a named one. */
  key: string | undefined
  breaker: CircuitBreaker
}

/** Options of {@link KeyedBreakers}. */
export interface KeyedBreakersOptions {
  /** The group's name (`'webhooks'`). Required. */
  name: string
  /** Makes the breaker of a key on its first use. Required. */
  create: (key: string) => CircuitBreaker
  /** Breakers kept at most; the least recently used is evicted beyond. @default 10000 */
  maxKeys?: number
  /** A breaker unused for this long is evicted (it starts closed if the key comes back). @default '10m' */
  idleTtl?: Duration
  /** For idle eviction. @default systemClock */
  clock?: Clock
}

/**
 * Per-key breakers of one group: one breaker per host, tenant... created on first use, evicted when idle.
 * A registry's `keyed(name)` makes one with the registry's options.
 *
 * @example
 * ```ts
 * const perHost = new KeyedBreakers({ name: 'webhooks', create: (host) => circuitBreaker({ name: host }) })
 * await perHost.execute(new URL(url).host, () => post(url, body))
 * ```
 */
export class KeyedBreakers {
  readonly name: string
  readonly #cache: LRUCache<string, CircuitBreaker>
  readonly #make: (key: string) => CircuitBreaker

  constructor(options: KeyedBreakersOptions) {
    const o = expectOptions(
      'options',
      options,
      optionKeys<KeyedBreakersOptions>({ name: true, create: true, maxKeys: true, idleTtl: true, clock: true }),
    )
    if (typeof o.name !== 'string' || o.name === '') throw new ValidationError('name', 'a non-empty string', o.name)
    this.name = o.name
    if (typeof o.create !== 'function') throw new ValidationError('create', 'a function (key) => breaker', o.create)
    this.#make = o.create
    const max = optionalNumber('maxKeys', o.maxKeys, 10_000, { min: 1, integer: true })
    const ttl = optionalDuration('idleTtl', o.idleTtl, 600_000, { positive: true })
    const clock = optionalClock('clock', o.clock)
    // ttlResolution 0: read the (possibly fake) clock on every check instead of caching it behind a timer.
    this.#cache = new LRUCache({ max, ttl, updateAgeOnGet: true, ttlResolution: 0, perf: clock })
  }

  /** The breaker for `key`, created with the group's options on first use. */
  get(key: string): CircuitBreaker {
    if (typeof key !== 'string' || key === '')
      throw new ValidationError('key', 'a non-empty string', key, { code: 'E_INVALID_KEY' })
    let breaker = this.#cache.get(key)
    if (breaker === undefined) {
      breaker = this.#make(key)
      this.#cache.set(key, breaker)
    }
    return breaker
  }

  /** Runs `fn` through the breaker of `key`. */
  execute<T>(key: string, fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    return this.get(key).execute(fn, signal)
  }

  /** Breakers held now (idle ones are dropped as they are found). */
  get size(): number {
    this.#cache.purgeStale()
    return this.#cache.size
  }

  /** Forgets the breaker of `key`. */
  delete(key: string): boolean {
    return this.#cache.delete(key)
  }

  /** The live breakers and their keys. */
  entries(): [string, CircuitBreaker][] {
    this.#cache.purgeStale()
    return [...this.#cache.entries()]
  }
}

/** Named breakers and groups of per-key breakers (see {@link createBreakerRegistry}). */
export class BreakerRegistry {
  readonly #named = new Map<string, CircuitBreaker>()
  readonly #groups = new Map<string, KeyedBreakers>()
  readonly #defaults: CircuitBreakerOptions
  readonly #maxKeys: number
  readonly #idleTtl: number
  readonly #clock: Clock

  constructor(options: BreakerRegistryOptions = {}) {
    const o = expectOptions(
      'options',
      options,
      optionKeys<BreakerRegistryOptions>({ defaults: true, maxKeys: true, idleTtl: true, clock: true }),
    )
    this.#defaults = expectOptions('defaults', o.defaults)
    this.#maxKeys = optionalNumber('maxKeys', o.maxKeys, 10_000, { min: 1, integer: true })
    this.#idleTtl = optionalDuration('idleTtl', o.idleTtl, 600_000, { positive: true })
    this.#clock = optionalClock('clock', o.clock ?? this.#defaults.clock)
    // Fail at construction, not at the first call, if the defaults are invalid.
    new CircuitBreaker(this.#options('defaults', undefined))
  }

  /** The breaker called `name`, created on first use from the defaults and `options` (ignored afterwards). */
  get(name: string, options?: CircuitBreakerOptions): CircuitBreaker {
    expectName(name)
    let breaker = this.#named.get(name)
    if (breaker === undefined) {
      breaker = new CircuitBreaker(this.#options(name, options))
      this.#named.set(name, breaker)
    }
    return breaker
  }

  /** The group of per-key breakers called `name`, created on first use. */
  keyed(name: string, options?: CircuitBreakerOptions): KeyedBreakers {
    expectName(name)
    let group = this.#groups.get(name)
    if (group === undefined) {
      const base = this.#options(name, options)
      new CircuitBreaker(base) // validate now
      group = new KeyedBreakers({
        name,
        create: (key) => new CircuitBreaker({ ...base, name: `${name}:${key}` }),
        maxKeys: this.#maxKeys,
        idleTtl: this.#idleTtl,
        clock: this.#clock,
      })
      this.#groups.set(name, group)
    }
    return group
  }

  /** Every breaker alive: named ones, then per-key ones with their key. */
  list(): RegisteredBreaker[] {
    const named = [...this.#named].map(([name, breaker]) => ({ name, key: undefined, breaker }))
    const keyed = [...this.#groups.values()].flatMap((group) =>
      group.entries().map(([key, breaker]) => ({ name: group.name, key, breaker })),
    )
    return [...named, ...keyed]
  }

  /** Metrics of every breaker alive, with its key. */
  metrics(): (BreakerMetrics & { key: string | undefined })[] {
    return this.list().map(({ name, key, breaker }) => ({ ...breaker.metrics(), name, key }))
  }

  #options(name: string, options: CircuitBreakerOptions | undefined): CircuitBreakerOptions {
    return { clock: this.#clock, ...this.#defaults, ...expectOptions('options', options), name }
  }
}

function expectName(name: unknown): void {
  if (typeof name !== 'string' || name === '')
    throw new ValidationError('name', 'a non-empty string', name, { code: 'E_INVALID_ARGUMENT' })
}

/**
 * Creates a registry of breakers: named ones (one per dependency) and per-key groups (one breaker per host
 * or tenant, with bounded memory: at most `maxKeys` per group, idle ones evicted after `idleTtl`).
 *
 * @example
 * ```ts
 * const breakers = createBreakerRegistry({ defaults: { failureRateThreshold: 0.5, openDuration: '10s' } })
 * const payments = breakers.get('payments')
 * const perHost = breakers.keyed('webhooks', { minimumCalls: 5 })
 * await perHost.execute(new URL(url).host, ({ signal }) => fetch(url, { signal }))
 * ```
 */
export function createBreakerRegistry(options?: BreakerRegistryOptions): BreakerRegistry {
  return new BreakerRegistry(options)
}
