import type { Clock } from '../core/clock.js'
import { systemClock } from '../core/clock.js'
import type { Duration } from '../core/duration.js'
import { parseDuration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import { expectOptions, optionalBoolean, optionalNumber } from '../core/validate.js'
import { validateKey, validateTags } from './keys.js'
import { jsonSerializer } from './serializer.js'
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

/** The circuit breaker around L2 calls (see `bulwark/breaker`). */
export interface CacheBreakerOptions {
  /** Failure rate (0, 1] at which the breaker opens. @default 0.5 */
  failureRateThreshold?: number
  /** Calls in the window before the rate counts. @default 10 */
  minimumCalls?: number
  /** Calls the sliding window holds. @default 50 */
  windowSize?: number
  /** How long the breaker stays open before probing L2 again. @default '5s' */
  openDuration?: Duration
  /** An L2 call slower than this counts as slow, even while it is still running. @default '250ms' */
  slowCallDuration?: Duration
  /** Slow-call rate (0, 1] at which the breaker opens. @default 0.8 */
  slowCallRateThreshold?: number
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
  /** Circuit breaker around L2 calls; `false` calls L2 directly (timeouts still apply). @default {} */
  breaker?: CacheBreakerOptions | false
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
  breaker: Required<CacheBreakerOptions> | false
  lock: { ttl: number; wait: number; pollInterval: number } | undefined
  serializer: Serializer
  clock: Clock
  maxKeyLength: number
}

const BREAKER_DEFAULTS = {
  failureRateThreshold: 0.5,
  slowCallRateThreshold: 0.8,
  minimumCalls: 10,
  windowSize: 50,
  openDuration: 5_000,
  slowCallDuration: 250,
}

/** The entry options of a cache that sets none. */
export function defaultPolicy(): Policy {
  return {
    ttl: 300_000,
    jitter: 0,
    negativeTtl: undefined,
    grace: 0,
    refreshAhead: 0,
    tags: undefined,
    soft: 0,
    hard: 1_000,
    lock: false,
  }
}

/** Validates `options` and merges the defaults. */
export function resolveCacheOptions(options: CacheOptions | undefined): ResolvedOptions {
  const o = expectOptions('options', options)
  const maxKeyLength = optionalNumber('maxKeyLength', o.maxKeyLength, 1024, { min: 1, integer: true })
  const namespace = validateKey(o.namespace ?? 'bulwark', maxKeyLength, 'namespace')
  const base = defaultPolicy()
  const lock = resolveLock(o.lock)
  base.lock = lock !== undefined && (o.lock === true || (o.lock as CacheLockOptions).enabled !== false)
  return {
    namespace,
    policy: resolvePolicy(base, { ...o, lock: undefined }, maxKeyLength, ''),
    l1: resolveL1(o.l1),
    l2: expectPort('l2', o.l2, ['get', 'getMany', 'set', 'setMany', 'delete', 'deleteByTags', 'clear']),
    bus: expectPort('bus', o.bus, ['subscribe', 'publish', 'disconnect']),
    channel: validateKey(o.channel ?? `bulwark:cache:${namespace}`, maxKeyLength, 'channel'),
    breaker: resolveBreaker(o.breaker),
    lock,
    serializer: expectPort('serializer', o.serializer, ['serialize', 'deserialize']) ?? jsonSerializer,
    clock: expectPort('clock', o.clock, ['now', 'setTimeout', 'clearTimeout']) ?? systemClock,
    maxKeyLength,
  }
}

/**
 * Merges per-call options over `base`. Returns `base` itself when there is nothing to merge, so the
 * common call allocates nothing. `path` prefixes option names in errors (`'options.'`).
 */
export function resolvePolicy(
  base: Policy,
  call: GetOrSetOptions | CacheEntryOptions | undefined,
  maxKeyLength: number,
  path = 'options.',
): Policy {
  if (call === undefined) return base
  const o = expectOptions(path === '' ? 'options' : path.slice(0, -1), call) as GetOrSetOptions
  const timeout = expectOptions(`${path}timeout`, o.timeout)
  const soft =
    timeout.soft === undefined ? base.soft : timeout.soft === false ? 0 : dur(`${path}timeout.soft`, timeout.soft)
  const hard = timeout.hard === undefined ? base.hard : dur(`${path}timeout.hard`, timeout.hard)
  if (hard <= 0) throw new ValidationError(`${path}timeout.hard`, 'a duration > 0', timeout.hard)
  if (soft > hard) throw new ValidationError(`${path}timeout.soft`, `a duration <= timeout.hard (${hard} ms)`, soft)
  const tags = o.tags === undefined ? base.tags : validateTags(o.tags, maxKeyLength, `${path}tags`)
  return {
    ttl: o.ttl === undefined ? base.ttl : dur(`${path}ttl`, o.ttl),
    jitter: optionalNumber(`${path}jitter`, o.jitter, base.jitter, { min: 0, max: 1, exclusiveMax: true }),
    negativeTtl: o.negativeTtl === undefined ? base.negativeTtl : dur(`${path}negativeTtl`, o.negativeTtl),
    grace: o.grace === undefined ? base.grace : dur(`${path}grace`, o.grace),
    refreshAhead: optionalNumber(`${path}refreshAhead`, o.refreshAhead, base.refreshAhead, {
      min: 0,
      max: 1,
      exclusiveMax: true,
    }),
    tags: base.tags && tags !== base.tags ? [...new Set([...base.tags, ...(tags ?? [])])] : tags,
    soft,
    hard,
    lock: optionalBoolean(`${path}lock`, o.lock, base.lock),
  }
}

function dur(name: string, value: unknown): number {
  return parseDuration(value, name)
}

function resolveL1(value: CacheL1Options | undefined): ResolvedOptions['l1'] {
  const l1 = expectOptions('l1', value)
  return {
    enabled: optionalBoolean('l1.enabled', l1.enabled, true),
    maxEntries: optionalNumber('l1.maxEntries', l1.maxEntries, 10_000, { min: 1, integer: true }),
    maxBytes: optionalNumber('l1.maxBytes', l1.maxBytes, 64 * 1024 * 1024, { min: 0, integer: true }),
  }
}

function resolveBreaker(value: CacheBreakerOptions | false | undefined): ResolvedOptions['breaker'] {
  if (value === false) return false
  const b = expectOptions('breaker', value)
  return {
    failureRateThreshold: optionalNumber(
      'breaker.failureRateThreshold',
      b.failureRateThreshold,
      BREAKER_DEFAULTS.failureRateThreshold,
      {
        min: 0,
        max: 1,
        exclusiveMin: true,
      },
    ),
    slowCallRateThreshold: optionalNumber(
      'breaker.slowCallRateThreshold',
      b.slowCallRateThreshold,
      BREAKER_DEFAULTS.slowCallRateThreshold,
      { min: 0, max: 1, exclusiveMin: true },
    ),
    minimumCalls: optionalNumber('breaker.minimumCalls', b.minimumCalls, BREAKER_DEFAULTS.minimumCalls, {
      min: 1,
      integer: true,
    }),
    windowSize: optionalNumber('breaker.windowSize', b.windowSize, BREAKER_DEFAULTS.windowSize, {
      min: 1,
      integer: true,
    }),
    openDuration:
      b.openDuration === undefined ? BREAKER_DEFAULTS.openDuration : dur('breaker.openDuration', b.openDuration),
    slowCallDuration:
      b.slowCallDuration === undefined
        ? BREAKER_DEFAULTS.slowCallDuration
        : dur('breaker.slowCallDuration', b.slowCallDuration),
  }
}

function resolveLock(value: CacheLockOptions | boolean | undefined): ResolvedOptions['lock'] {
  if (value === undefined || value === false) return undefined
  const l = value === true ? {} : expectOptions('lock', value)
  const ttl = l.ttl === undefined ? 10_000 : dur('lock.ttl', l.ttl)
  const pollInterval = l.pollInterval === undefined ? 50 : dur('lock.pollInterval', l.pollInterval)
  if (ttl <= 0) throw new ValidationError('lock.ttl', 'a duration > 0', l.ttl)
  if (pollInterval <= 0) throw new ValidationError('lock.pollInterval', 'a duration > 0', l.pollInterval)
  return { ttl, wait: l.wait === undefined ? 5_000 : dur('lock.wait', l.wait), pollInterval }
}

function expectPort<T>(name: string, value: T | undefined, methods: readonly string[]): T | undefined {
  if (value === undefined) return undefined
  const missing = methods.find((m) => typeof (value as Record<string, unknown> | null)?.[m] !== 'function')
  if (missing !== undefined) throw new ValidationError(name, `an object with a \`${missing}\` method`, value)
  return value
}
