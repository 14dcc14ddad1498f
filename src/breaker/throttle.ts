import type { Duration } from '../core/duration.js'
import {
  expectOneOf,
  expectOptions,
  optionalDuration,
  optionalFunction,
  optionalNumber,
  optionKeys,
} from '../core/validate.js'
import { FAILED, TimeWindow } from './window.js'

/** Google SRE client-side adaptive throttling ("Handling Overload", Site Reliability Engineering, ch. 21). */
export interface ThrottlingOptions {
  /**
   * `K`: how many requests per accepted one the client still sends. Lower is more aggressive. A number >= 1.
   * @default 2
   */
  k?: number
  /** The window over which requests and accepts are counted. @default '60s' */
  window?: Duration
  /** Buckets of that window. @default 12 */
  buckets?: number
  /**
   * `'before-open'`: throttle while the failure rate climbs, and still open at the threshold.
   * `'instead-of-open'`: never open on the failure rate (slow calls still open it); throttle only.
   * @default 'before-open'
   */
  mode?: 'before-open' | 'instead-of-open'
  /** A source of uniform numbers in [0, 1), for tests. @default Math.random */
  random?: () => number
}

export interface ResolvedThrottling {
  k: number
  window: number
  buckets: number
  mode: 'before-open' | 'instead-of-open'
  random: () => number
}

export function resolveThrottling(input: ThrottlingOptions): ResolvedThrottling {
  const o = expectOptions(
    'throttling',
    input,
    optionKeys<ThrottlingOptions>({ k: true, window: true, buckets: true, mode: true, random: true }),
  )
  const window = optionalDuration('throttling.window', o.window, 60_000, { positive: true })
  return {
    k: optionalNumber('throttling.k', o.k, 2, { min: 1 }),
    window,
    buckets: optionalNumber('throttling.buckets', o.buckets, 12, { min: 1, max: 10_000, integer: true }),
    mode:
      o.mode === undefined ? 'before-open' : expectOneOf('throttling.mode', o.mode, ['before-open', 'instead-of-open']),
    random: optionalFunction('throttling.random', o.random, Math.random),
  }
}

/**
 * Rejects locally with probability `max(0, (requests - K * accepts) / (requests + 1))`, where `requests`
 * counts every call the application attempted (throttled ones included) and `accepts` those the dependency
 * handled, over a sliding time window. Healthy: accepts ≈ requests, so it never rejects. Failing: the
 * rejection probability rises smoothly with the failure rate, shedding load before (or instead of) a
 * hard open.
 */
export class SreThrottle {
  readonly #window: TimeWindow
  readonly #k: number
  readonly #random: () => number

  constructor(options: ResolvedThrottling) {
    this.#window = new TimeWindow(options.window, options.buckets)
    this.#k = options.k
    this.#random = options.random
  }

  /** The current rejection probability. */
  probability(now: number): number {
    const w = this.#window
    w.refresh(now)
    const requests = w.calls
    const accepts = requests - w.failures
    return Math.max(0, (requests - this.#k * accepts) / (requests + 1))
  }

  /** Decides whether to reject the call arriving at `now`; a rejection counts as a request not accepted. */
  shouldReject(now: number): boolean {
    const p = this.probability(now)
    if (p === 0 || this.#random() >= p) return false
    this.#window.record(now, FAILED)
    return true
  }

  /** Records an attempted call: accepted by the dependency, or not. */
  record(now: number, accepted: boolean): void {
    this.#window.record(now, accepted ? 0 : FAILED)
  }

  reset(): void {
    this.#window.reset()
  }
}
