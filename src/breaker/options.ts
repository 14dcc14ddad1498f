import type { Backoff } from '../core/backoff.js'
import type { Clock } from '../core/clock.js'
import type { Duration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import {
  expectDuration,
  expectOneOf,
  expectOptions,
  optionalClock,
  optionalDuration,
  optionalFunction,
  optionalNumber,
  optionKeys,
} from '../core/validate.js'
import { type AdaptiveSlowCallOptions, type ResolvedAdaptive, resolveAdaptive } from './adaptive.js'
import { resolveOpenDuration } from './backoff.js'
import { type FailureCountOptions, type ResolvedCountTrips, resolveCountTrips } from './count-trips.js'
import type { BreakerSnapshot } from './snapshot.js'
import { type ResolvedThrottling, resolveThrottling, type ThrottlingOptions } from './throttle.js'

/** The sliding window a breaker computes its rates over. */
export type WindowOptions =
  | {
      /** The last `size` calls. */
      type: 'count'
      /** @default 100 */
      size?: number
    }
  | {
      /** The calls of the last `duration`, in `buckets` buckets. */
      type: 'time'
      /** @default '10s' */
      duration?: Duration
      /** @default 10 */
      buckets?: number
    }

/** How HALF_OPEN probes the dependency. */
export interface HalfOpenOptions {
  /**
   * Probes admitted at once; this many must succeed (fast) in a row to close the circuit, and any failed,
   * slow, or late probe reopens it.
   * @default 3
   */
  permittedCalls?: number
  /** A probe still running after this long counts as failed, its permit is released and its caller rejected. @default '10s' */
  deadline?: Duration
}

/** Options of {@link circuitBreaker}. */
export interface CircuitBreakerOptions {
  /** A name for errors, events and metrics. @default 'breaker' */
  name?: string
  /**
   * Open when at least this fraction of the calls in the window failed. In (0, 1], or `false` to never open on
   * the failure rate (with `failureCount` or `consecutiveFailures`, the counts alone decide). @default 0.5
   */
  failureRateThreshold?: number | false
  /** Open when at least this fraction of the calls in the window were slow. In (0, 1]. @default 1 */
  slowCallRateThreshold?: number
  /**
   * A call taking longer than this is slow, and counts as slow as soon as it runs past it (a hung dependency
   * trips the breaker without waiting for its timeout). Setting it turns slow-call detection on. At 100 ms or
   * more on the system clock, calls are timed to the millisecond from a cached clock (no exact clock read per
   * call); below it, or with `adaptiveSlowCall`, with two exact reads. With `adaptiveSlowCall` it is the
   * starting value (default: the ceiling).
   * @default undefined (no slow-call detection)
   */
  slowCallDuration?: Duration
  /** Learn the slow-call threshold as a multiple of the observed p99 latency. @default undefined (fixed) */
  adaptiveSlowCall?: AdaptiveSlowCallOptions
  /**
   * Open on the `threshold`-th failure within `within` ("3 failures in 30 s"), whatever the successes and
   * without waiting for `minimumCalls`: a count, not a rate. Slow calls do not count; only failures do.
   * Composes with the other trips: any one opens the circuit.
   * @default undefined (off)
   */
  failureCount?: FailureCountOptions
  /**
   * Open on this many failures in a row (a success, or an error `isFailure` rejects, resets the count), without
   * waiting for `minimumCalls`. Slow calls do not count. An integer >= 1. Composes with the other trips.
   * @default undefined (off)
   */
  consecutiveFailures?: number
  /** Calls the window must hold before the rates can open the circuit. An integer >= 1. @default 10 */
  minimumCalls?: number
  /** @default { type: 'count', size: 100 } */
  window?: WindowOptions
  /**
   * How long OPEN lasts before probing: a duration; a {@link Backoff} over consecutive openings (the n-th
   * lasts `initial * multiplier^(n-1)`, defaults `{ initial: '30s', max: '5m', multiplier: 2 }`); or a
   * function of the number of consecutive openings (1 for the first) returning milliseconds.
   * @default '30s'
   */
  openDuration?: Duration | Backoff | ((consecutiveOpens: number) => number)
  /** @default { permittedCalls: 3, deadline: '10s' } */
  halfOpen?: HalfOpenOptions
  /**
   * Which errors count as failures. Errors it rejects count as successes (the dependency answered). A call
   * whose caller aborted it is never counted. @default every error
   */
  isFailure?: (error: unknown) => boolean
  /** Which results count as failures (an HTTP 503 returned rather than thrown). @default none */
  isResultFailure?: (result: unknown) => boolean
  /** Google SRE client-side adaptive throttling, before or instead of opening. @default undefined (off) */
  throttling?: ThrottlingOptions
  /**
   * Start times of calls in flight tracked for slow-before-completion detection (calls that start at the same
   * clock reading share one); calls beyond it are measured at the end. @default 1024
   */
  maxTrackedCalls?: number
  /** Restores the state written by `toJSON()`. @default undefined (closed, empty window) */
  initialState?: BreakerSnapshot
  /** @default systemClock */
  clock?: Clock
}

/** Options after defaults and validation, durations in ms. */
export interface ResolvedBreakerOptions {
  name: string
  /** +Infinity for `false`: no rate reaches it. */
  failureRateThreshold: number
  slowCallRateThreshold: number
  slowCallDuration: number | undefined
  adaptive: ResolvedAdaptive | undefined
  minimumCalls: number
  /** The count trips, or undefined when neither `failureCount` nor `consecutiveFailures` is set. */
  counts: ResolvedCountTrips | undefined
  window: { type: 'count'; size: number } | { type: 'time'; duration: number; buckets: number }
  openDuration: (consecutiveOpens: number) => number
  permittedCalls: number
  halfOpenDeadline: number
  isFailure: (error: unknown) => boolean
  isResultFailure: ((result: unknown) => boolean) | undefined
  throttling: ResolvedThrottling | undefined
  maxTrackedCalls: number
  initialState: BreakerSnapshot | undefined
  clock: Clock
}

const RATE = { min: 0, max: 1, exclusiveMin: true }
const COUNT = { min: 1, integer: true }

/** Merges defaults and validates every option once, at construction. */
export function resolveBreakerOptions(input: CircuitBreakerOptions | undefined): ResolvedBreakerOptions {
  const o = expectOptions(
    'options',
    input,
    optionKeys<CircuitBreakerOptions>({
      name: true,
      failureRateThreshold: true,
      slowCallRateThreshold: true,
      slowCallDuration: true,
      adaptiveSlowCall: true,
      failureCount: true,
      consecutiveFailures: true,
      minimumCalls: true,
      window: true,
      openDuration: true,
      halfOpen: true,
      isFailure: true,
      isResultFailure: true,
      throttling: true,
      maxTrackedCalls: true,
      initialState: true,
      clock: true,
    }),
  )
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === ''))
    throw new ValidationError('name', 'a non-empty string', o.name)
  const halfOpen = expectOptions(
    'halfOpen',
    o.halfOpen,
    optionKeys<HalfOpenOptions>({ permittedCalls: true, deadline: true }),
  )
  const clock = optionalClock('clock', o.clock)
  return {
    name: o.name ?? 'breaker',
    failureRateThreshold:
      o.failureRateThreshold === false
        ? Number.POSITIVE_INFINITY
        : optionalNumber('failureRateThreshold', o.failureRateThreshold, 0.5, RATE),
    slowCallRateThreshold: optionalNumber('slowCallRateThreshold', o.slowCallRateThreshold, 1, RATE),
    slowCallDuration:
      o.slowCallDuration === undefined ? undefined : expectDuration('slowCallDuration', o.slowCallDuration),
    adaptive: o.adaptiveSlowCall === undefined ? undefined : resolveAdaptive(o.adaptiveSlowCall),
    minimumCalls: optionalNumber('minimumCalls', o.minimumCalls, 10, COUNT),
    counts: resolveCountTrips(o.failureCount, o.consecutiveFailures),
    window: resolveWindow(o.window),
    openDuration: resolveOpenDuration(o.openDuration),
    permittedCalls: optionalNumber('halfOpen.permittedCalls', halfOpen.permittedCalls, 3, COUNT),
    halfOpenDeadline: optionalDuration('halfOpen.deadline', halfOpen.deadline, 10_000),
    isFailure: optionalFunction('isFailure', o.isFailure, () => true),
    isResultFailure: optionalFunction('isResultFailure', o.isResultFailure),
    throttling: o.throttling === undefined ? undefined : resolveThrottling(o.throttling),
    maxTrackedCalls: optionalNumber('maxTrackedCalls', o.maxTrackedCalls, 1024, {
      min: 1,
      max: 1 << 20,
      integer: true,
    }),
    initialState: o.initialState,
    clock,
  }
}

function resolveWindow(input: WindowOptions | undefined): ResolvedBreakerOptions['window'] {
  const w = expectOptions('window', input ?? { type: 'count' }, ['type', 'size', 'duration', 'buckets']) as {
    type: unknown
    size?: unknown
    duration?: unknown
    buckets?: unknown
  }
  const type = expectOneOf('window.type', w.type, ['count', 'time'] as const)
  if (type === 'time') {
    const duration = optionalDuration('window.duration', w.duration, 10_000, { positive: true })
    const buckets = optionalNumber('window.buckets', w.buckets, 10, { min: 1, max: 10_000, integer: true })
    return { type, duration, buckets }
  }
  return { type, size: optionalNumber('window.size', w.size, 100, { min: 1, max: 1 << 24, integer: true }) }
}
