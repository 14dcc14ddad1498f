import { parseDuration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import { expectOptions, optionalBoolean, optionalClock, optionalNumber, optionKeys } from '../core/validate.js'
import { validateKey, validateTags } from './keys.js'
import { l2Breaker } from './l2-breaker.js'
import type {
  CacheEntryOptions,
  CacheL1Options,
  CacheLockOptions,
  CacheOptions,
  GetOrSetOptions,
  Policy,
  ResolvedOptions,
} from './options.js'
import { jsonSerializer } from './serializer.js'

/* Defaults merged and options validated in one place, once per cache (and once per call with options). */

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
  const o = expectOptions(
    'options',
    options,
    optionKeys<CacheOptions>({
      namespace: true,
      l1: true,
      l2: true,
      bus: true,
      channel: true,
      breaker: true,
      lock: true,
      serializer: true,
      clock: true,
      maxKeyLength: true,
      ttl: true,
      jitter: true,
      negativeTtl: true,
      grace: true,
      refreshAhead: true,
      tags: true,
      timeout: true,
    }),
  )
  const maxKeyLength = optionalNumber('maxKeyLength', o.maxKeyLength, 1024, { min: 1, integer: true })
  const namespace = validateKey(o.namespace ?? 'bulwark', maxKeyLength, 'namespace')
  const base = defaultPolicy()
  const clock = optionalClock('clock', o.clock)
  const l2 = expectPort('l2', o.l2, ['get', 'getMany', 'set', 'setMany', 'delete', 'deleteByTags', 'clear'])
  // Built (and so validated) even without L2: a bad option is reported whatever else is configured.
  const breaker = l2Breaker(o.breaker, { namespace, clock })
  const lock = resolveLock(o.lock)
  base.lock = lock !== undefined && (o.lock === true || (o.lock as CacheLockOptions).enabled !== false)
  return {
    namespace,
    policy: resolvePolicy(base, { ...o, lock: undefined }, maxKeyLength, ''),
    l1: resolveL1(o.l1),
    l2,
    bus: expectPort('bus', o.bus, ['subscribe', 'publish', 'close']),
    // A derived channel is not a user key: only a channel the user passes is held to `maxKeyLength`.
    channel: o.channel === undefined ? `bulwark:cache:${namespace}` : validateKey(o.channel, maxKeyLength, 'channel'),
    breaker: l2 === undefined ? undefined : breaker,
    lock,
    serializer: expectPort('serializer', o.serializer, ['serialize', 'deserialize']) ?? jsonSerializer,
    clock,
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
    timeout.soft === undefined ? base.soft : timeout.soft === false ? 0 : timerDur(`${path}timeout.soft`, timeout.soft)
  const hard = timeout.hard === undefined ? base.hard : timerDur(`${path}timeout.hard`, timeout.hard)
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

/**
 * Longest entry duration (`ttl`, `negativeTtl`, `grace`, `lock.ttl`): about 31,700 years. Past it, an
 * expiry (now + ttl, doubled by jitter at most, + grace) would leave the safe integers, and Redis
 * refuses a `PX` that large, so the value would silently live in L1 only.
 */
export const MAX_ENTRY_DURATION = 1e15
/** Longest timer duration (timeouts, lock polling): Node fires a longer `setTimeout` after 1 ms. */
export const MAX_TIMER_DURATION = 2 ** 31 - 1

/** An entry duration every driver can store. */
function dur(name: string, value: unknown): number {
  return bounded(name, value, MAX_ENTRY_DURATION, 'about 31,700 years')
}

/** A duration that a timer waits for. */
function timerDur(name: string, value: unknown): number {
  return bounded(name, value, MAX_TIMER_DURATION, 'about 24.8 days')
}

function bounded(name: string, value: unknown, max: number, human: string): number {
  const ms = parseDuration(value, name)
  if (ms > max) throw new ValidationError(name, `a duration of at most ${max} ms (${human})`, value)
  return ms
}

function resolveL1(value: CacheL1Options | undefined): ResolvedOptions['l1'] {
  const l1 = expectOptions('l1', value, optionKeys<CacheL1Options>({ enabled: true, maxEntries: true, maxBytes: true }))
  return {
    enabled: optionalBoolean('l1.enabled', l1.enabled, true),
    maxEntries: optionalNumber('l1.maxEntries', l1.maxEntries, 10_000, { min: 1, integer: true }),
    maxBytes: optionalNumber('l1.maxBytes', l1.maxBytes, 64 * 1024 * 1024, { min: 0, integer: true }),
  }
}

function resolveLock(value: CacheLockOptions | boolean | undefined): ResolvedOptions['lock'] {
  if (value === undefined || value === false) return undefined
  const l =
    value === true
      ? {}
      : expectOptions(
          'lock',
          value,
          optionKeys<CacheLockOptions>({ enabled: true, ttl: true, wait: true, pollInterval: true }),
        )
  const ttl = l.ttl === undefined ? 10_000 : dur('lock.ttl', l.ttl)
  const pollInterval = l.pollInterval === undefined ? 50 : timerDur('lock.pollInterval', l.pollInterval)
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
