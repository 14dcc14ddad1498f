import type { CircuitBreaker, CircuitBreakerOptions } from '../breaker/index.js'
import type { Clock } from '../core/clock.js'
import type { Duration } from '../core/duration.js'
import type { CacheBus, L2Driver, Serializer } from './types.js'

/** L2 timeouts. L2 errors and timeouts never reach a caller: the cache falls back to L1 and the loader. */
export interface CacheTimeoutOptions {
  /**
   * After this long without an answer from L2, stop waiting and call the loader (the L2 call goes on
   * until `hard`, and its answer is dropped). `false` waits up to `hard`.
   * @default false
   */
  soft?: Duration | false
  /** After this long an L2 call is aborted and counted as an L2 error. @default '1s' */
  hard?: Duration
}

/** How one entry is cached. Set on the cache (defaults) or on one call (overrides). */
export interface CacheEntryOptions {
  /** How long a value stays fresh. @default '5m' */
  ttl?: Duration
  /**
   * Random spread of the TTL, as a fraction: `0.1` makes each entry's TTL uniform in ±10% of `ttl`, so
   * entries written together do not expire together. In [0, 1).
   * @default 0
   */
  jitter?: number
  /** TTL of a `null` or `undefined` loader result; `0` does not cache them. @default the entry's `ttl` */
  negativeTtl?: Duration
  /**
   * How long past its expiry a value may still be served when the loader (or L2) fails. `0` never
   * serves stale values.
   * @default 0
   */
  grace?: Duration
  /**
   * Fraction of the TTL after which a hit returns the current value and starts one background refresh
   * (however many callers hit it). In (0, 1); `0` turns it off.
   * @default 0
   */
  refreshAhead?: number
  /** Tags of the entry, for {@link Cache.deleteByTag}. Per-call tags are added to the cache's. @default [] */
  tags?: readonly string[]
  /** L2 timeouts. */
  timeout?: CacheTimeoutOptions
}

/** Options of one `getOrSet` / `getOrSetMany` call. */
export interface GetOrSetOptions extends CacheEntryOptions {
  /** Use the distributed lock for this call (needs `lock` configured on a driver that supports it). @default the cache's setting */
  lock?: boolean
}

/** Options of one `set` call. */
export type SetOptions = Pick<CacheEntryOptions, 'ttl' | 'jitter' | 'grace' | 'refreshAhead' | 'tags' | 'timeout'>

/** The in-process level. */
export interface CacheL1Options {
  /** Turn L1 off (every read goes to L2). @default true */
  enabled?: boolean
  /** Most entries kept. @default 10000 */
  maxEntries?: number
  /**
   * Most bytes kept, counting each value's serialized length (two bytes a character). `0` bounds by
   * entries only.
   * @default 67108864 (64 MiB)
   */
  maxBytes?: number
}

/** Distributed single-flight: one loader call across processes for a key, through the driver's lock. */
export interface CacheLockOptions {
  /** Use the lock on every miss (a call can override with `lock`). @default true when this object is given */
  enabled?: boolean
  /** How long a lock lives if its holder dies. @default '10s' */
  ttl?: Duration
  /** How long a process that did not get the lock polls L2 for the holder's value before loading anyway. @default '5s' */
  wait?: Duration
  /** Interval between those polls. @default '50ms' */
  pollInterval?: Duration
}

/** Options of {@link createCache}. */
export interface CacheOptions extends CacheEntryOptions {
  /**
   * Prefix of every L2 key (`<namespace>:<key>`) and the scope of `clear()`. Child caches from
   * `cache.namespace(name)` add `<name>:`.
   * @default 'bulwark'
   */
  namespace?: string
  /** The in-process level. */
  l1?: CacheL1Options
  /** The shared level (`redisCacheDriver(...)`, `memoryCacheDriver()`); none keeps the cache in process. @default undefined */
  l2?: L2Driver
  /** The invalidation bus (`redisBus(...)`, `memoryBus()`). @default undefined */
  bus?: CacheBus
  /** Bus channel; caches that share keys must share it. @default 'bulwark:cache:<namespace>' */
  channel?: string
  /**
   * The circuit breaker around L2 calls and publishes: options for one the cache creates (merged over
   * the cache's defaults: `failureRateThreshold: 0.5`, `slowCallRateThreshold: 0.8`,
   * `slowCallDuration: '250ms'`, `minimumCalls: 10`, `window: { type: 'count', size: 50 }`,
   * `openDuration: '5s'`, named `cache:<namespace>:l2`, on the cache's clock), a breaker of your own
   * (shared, watched, or configured in one place with the others), or `false` to call L2 directly
   * (timeouts still apply).
   * @default {}
   */
  breaker?: CircuitBreakerOptions | CircuitBreaker | false
  /** Distributed single-flight through the driver's lock; `true` takes the defaults. @default false */
  lock?: CacheLockOptions | boolean
  /** How values are turned into strings for L2. @default JSON, hardened against `__proto__` keys */
  serializer?: Serializer
  /** Source of time for TTLs, timeouts and lock polling. @default systemClock */
  clock?: Clock
  /** Longest key (and tag) accepted. @default 1024 */
  maxKeyLength?: number
}

/** Entry options with durations in ms, validated. */
export interface Policy {
  ttl: number
  jitter: number
  /** `undefined`: the entry's `ttl`. */
  negativeTtl: number | undefined
  grace: number
  refreshAhead: number
  tags: readonly string[] | undefined
  /** 0: no soft timeout. */
  soft: number
  hard: number
  lock: boolean
}

/** Everything `createCache` needs, validated and with defaults merged, once. */
export interface ResolvedOptions {
  namespace: string
  policy: Policy
  l1: { enabled: boolean; maxEntries: number; maxBytes: number }
  l2: L2Driver | undefined
  bus: CacheBus | undefined
  channel: string
  /** The L2 breaker; undefined with `breaker: false` or without L2. */
  breaker: CircuitBreaker | undefined
  lock: { ttl: number; wait: number; pollInterval: number } | undefined
  serializer: Serializer
  clock: Clock
  maxKeyLength: number
}
