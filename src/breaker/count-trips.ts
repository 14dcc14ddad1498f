import type { Duration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import { expectDuration, expectNumber, expectOptions } from '../core/validate.js'

/**
 * "N failures within T": opens on the `threshold`-th failure within `within`, whatever the successes.
 *
 * @example
 * ```ts
 * circuitBreaker({ failureCount: { threshold: 3, within: '30s' }, openDuration: '60s' })
 * ```
 */
export interface FailureCountOptions {
  /** The failures that open the circuit. An integer >= 1. */
  threshold: number
  /**
   * How close together they must be: the oldest of the last `threshold` failures is less than this before the
   * newest. A duration > 0.
   */
  within: Duration
}

/** Count trips after validation, durations in ms. */
export interface ResolvedCountTrips {
  failureCount: { threshold: number; within: number } | undefined
  consecutiveFailures: number | undefined
}

/** What a snapshot carries of the count trips (absent in snapshots taken before they existed). */
export interface CountTripsSnapshot {
  /** Failures in a row since the last success. */
  consecutiveFailures: number
  /** Times (clock ms) of the most recent failures, oldest first, at most `failureCount.threshold` of them. */
  failureTimes: number[]
}

/** Largest accepted counts: the ring of failure times is a Float64Array of `threshold` entries. */
const MAX_COUNT = 1 << 20

/** Validates `failureCount` and `consecutiveFailures`; undefined when neither is set. */
export function resolveCountTrips(failureCount: unknown, consecutiveFailures: unknown): ResolvedCountTrips | undefined {
  if (failureCount === undefined && consecutiveFailures === undefined) return undefined
  let count: ResolvedCountTrips['failureCount']
  if (failureCount !== undefined) {
    const o = expectOptions('failureCount', failureCount as FailureCountOptions)
    const threshold = expectNumber('failureCount.threshold', o.threshold, { min: 1, max: MAX_COUNT, integer: true })
    const within = expectDuration('failureCount.within', o.within, { positive: true })
    count = { threshold, within }
  }
  const consecutive =
    consecutiveFailures === undefined
      ? undefined
      : expectNumber('consecutiveFailures', consecutiveFailures, { min: 1, max: MAX_COUNT, integer: true })
  return { failureCount: count, consecutiveFailures: consecutive }
}

/**
 * The count trips of a closed circuit: "N failures within T" and "N failures in a row".
 *
 * Why a ring of times: the `threshold`-th failure within T opens the circuit exactly when the failure
 * `threshold` failures back is less than T old, so remembering the last `threshold` failure times is enough,
 * whatever the traffic (a time window of buckets would blur T by a bucket's width). Recording is O(1).
 */
export class CountTrips {
  readonly #consecutiveLimit: number
  readonly #within: number
  /** Failure times, a ring of `failureCount.threshold` entries (empty without `failureCount`). */
  readonly #times: Float64Array
  /** Failures recorded in the ring, up to its length. */
  #stored = 0
  /** Where the next failure time goes; when the ring is full, also where the oldest one is. */
  #next = 0
  #streak = 0

  constructor(o: ResolvedCountTrips) {
    this.#consecutiveLimit = o.consecutiveFailures ?? Number.POSITIVE_INFINITY
    this.#within = o.failureCount?.within ?? 0
    this.#times = new Float64Array(o.failureCount?.threshold ?? 0)
  }

  /** Whether failures need a time: only `failureCount` reads one (and only for failures). */
  get timesFailures(): boolean {
    return this.#times.length > 0
  }

  /** A call succeeded (or failed with an error `isFailure` rejected): the streak ends. */
  success(): void {
    this.#streak = 0
  }

  /** A call failed at `now`; returns true when a count trip opens the circuit. */
  failure(now: number): boolean {
    const byStreak = ++this.#streak >= this.#consecutiveLimit
    const ring = this.#times
    if (ring.length === 0) return byStreak
    this.#push(now)
    if (byStreak || this.#stored < ring.length) return byStreak
    // The ring holds this failure and the `threshold - 1` before it; the oldest of them is the next to overwrite.
    return now - ring[this.#next]! < this.#within
  }

  reset(): void {
    this.#streak = 0
    this.#stored = 0
    this.#next = 0
  }

  toJSON(): CountTripsSnapshot {
    const ring = this.#times
    const failureTimes: number[] = []
    const first = this.#stored === ring.length ? this.#next : 0
    for (let i = 0; i < this.#stored; i++) failureTimes.push(ring[(first + i) % ring.length]!)
    return { consecutiveFailures: this.#streak, failureTimes }
  }

  /** Loads a snapshot taken by `toJSON()`; keeps only the failure times that fit this ring (the latest). */
  restore(snapshot: CountTripsSnapshot): void {
    const { consecutiveFailures, failureTimes } = snapshot
    const ok =
      Number.isInteger(consecutiveFailures) &&
      consecutiveFailures >= 0 &&
      Array.isArray(failureTimes) &&
      failureTimes.every((t) => typeof t === 'number' && Number.isFinite(t))
    if (!ok)
      throw new ValidationError(
        'initialState.counts',
        '{ consecutiveFailures: an integer >= 0, failureTimes: numbers }',
        snapshot,
      )
    this.reset()
    this.#streak = consecutiveFailures
    const ring = this.#times
    for (const t of failureTimes.slice(Math.max(0, failureTimes.length - ring.length))) this.#push(t)
  }

  #push(time: number): void {
    const ring = this.#times
    ring[this.#next] = time
    this.#next = this.#next + 1 === ring.length ? 0 : this.#next + 1
    if (this.#stored < ring.length) this.#stored++
  }
}
