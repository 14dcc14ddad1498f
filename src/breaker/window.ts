import { ValidationError } from '../core/errors.js'

/** Outcome bits recorded in a window. A call can be both failed and slow. */
export const FAILED = 1
export const SLOW = 2

/** A window's content, as written by `toJSON()` and accepted back through `initialState`. */
export type WindowSnapshot =
  | { type: 'count'; outcomes: number[] }
  | { type: 'time'; epoch: number; buckets: [calls: number, failures: number, slowCalls: number][] }

/**
 * A sliding window of call outcomes with running totals, so reading a rate is O(1) and recording is O(1)
 * (amortized for the time window). Its memory is fixed at construction, whatever the traffic.
 */
export interface SlidingWindow {
  /** Calls in the window, as of the last `record` or `refresh`. */
  readonly calls: number
  readonly failures: number
  readonly slowCalls: number
  /** Records one outcome (a combination of {@link FAILED} and {@link SLOW}, or 0 for a fast success). */
  record(now: number, outcome: number): void
  /** Drops what has aged out of the window by `now` (a no-op for a count window). */
  refresh(now: number): void
  reset(): void
  toJSON(): WindowSnapshot
  /** Loads a snapshot taken by `toJSON()` on a window of the same shape; throws a ValidationError otherwise. */
  restore(snapshot: WindowSnapshot): void
}

/**
 * The last `size` calls, in a ring buffer of one byte per call. Recording overwrites the oldest outcome
 * and subtracts it from the totals (subtract-on-evict, as Resilience4j does), so nothing is ever recounted.
 */
export class CountWindow implements SlidingWindow {
  calls = 0
  failures = 0
  slowCalls = 0
  readonly #ring: Uint8Array
  #next = 0

  constructor(readonly size: number) {
    this.#ring = new Uint8Array(size)
  }

  record(_now: number, outcome: number): void {
    const ring = this.#ring
    const at = this.#next
    if (this.calls === ring.length) {
      const old = ring[at]!
      this.failures -= old & FAILED
      this.slowCalls -= (old & SLOW) >> 1
    } else {
      this.calls++
    }
    ring[at] = outcome
    this.failures += outcome & FAILED
    this.slowCalls += (outcome & SLOW) >> 1
    this.#next = at + 1 === ring.length ? 0 : at + 1
  }

  refresh(): void {}

  reset(): void {
    this.calls = 0
    this.failures = 0
    this.slowCalls = 0
    this.#next = 0
  }

  toJSON(): WindowSnapshot {
    const size = this.#ring.length
    const outcomes: number[] = []
    const first = this.calls === size ? this.#next : 0
    for (let i = 0; i < this.calls; i++) outcomes.push(this.#ring[(first + i) % size]!)
    return { type: 'count', outcomes }
  }

  restore(snapshot: WindowSnapshot): void {
    if (snapshot.type !== 'count' || !Array.isArray(snapshot.outcomes) || snapshot.outcomes.length > this.#ring.length)
      throw new ValidationError(
        'initialState.window',
        `a count window of at most ${this.#ring.length} outcomes`,
        snapshot,
      )
    this.reset()
    for (const outcome of snapshot.outcomes) {
      if (outcome !== (outcome & (FAILED | SLOW)))
        throw new ValidationError('initialState.window', 'outcomes 0-3', outcome)
      this.record(0, outcome)
    }
  }
}

/**
 * Calls over the last `duration` ms, in `buckets` buckets of `duration / buckets` ms each.
 *
 * Buckets are reset lazily by epoch (`floor(now / width)`): moving from epoch e1 to e2 clears the buckets
 * of every epoch in between, and a gap of a whole window or more clears them all. So an idle period leaves
 * no stale counts behind (cockatiel's sampling breaker advances one bucket per call and keeps them), and no
 * timer is needed to age the window.
 */
export class TimeWindow implements SlidingWindow {
  calls = 0
  failures = 0
  slowCalls = 0
  readonly #calls: Uint32Array
  readonly #failures: Uint32Array
  readonly #slow: Uint32Array
  readonly #width: number
  #epoch = Number.NEGATIVE_INFINITY
  /** The bucket of `#epoch`, kept so recording does no floating-point modulo (it calls fmod). */
  #at = 0

  constructor(
    readonly duration: number,
    readonly buckets: number,
  ) {
    this.#calls = new Uint32Array(buckets)
    this.#failures = new Uint32Array(buckets)
    this.#slow = new Uint32Array(buckets)
    this.#width = duration / buckets
  }

  record(now: number, outcome: number): void {
    this.refresh(now)
    // A clock that steps back records into the current bucket rather than resurrecting an old one.
    const at = this.#at
    this.#calls[at]!++
    this.calls++
    if (outcome & FAILED) {
      this.#failures[at]!++
      this.failures++
    }
    if (outcome & SLOW) {
      this.#slow[at]!++
      this.slowCalls++
    }
  }

  refresh(now: number): void {
    const epoch = Math.floor(now / this.#width)
    const last = this.#epoch
    if (epoch <= last) return
    this.#epoch = epoch
    this.#at = epoch % this.buckets
    if (epoch - last >= this.buckets) {
      this.#clear()
      return
    }
    for (let e = last + 1; e <= epoch; e++) {
      const at = e % this.buckets
      this.calls -= this.#calls[at]!
      this.failures -= this.#failures[at]!
      this.slowCalls -= this.#slow[at]!
      this.#calls[at] = 0
      this.#failures[at] = 0
      this.#slow[at] = 0
    }
  }

  reset(): void {
    this.#clear()
    this.#epoch = Number.NEGATIVE_INFINITY
  }

  #clear(): void {
    this.#calls.fill(0)
    this.#failures.fill(0)
    this.#slow.fill(0)
    this.calls = 0
    this.failures = 0
    this.slowCalls = 0
  }

  toJSON(): WindowSnapshot {
    const buckets: [number, number, number][] = []
    if (Number.isFinite(this.#epoch)) {
      // Oldest first, ending with the current epoch's bucket.
      for (let e = this.#epoch - this.buckets + 1; e <= this.#epoch; e++) {
        const at = ((e % this.buckets) + this.buckets) % this.buckets
        buckets.push([this.#calls[at]!, this.#failures[at]!, this.#slow[at]!])
      }
    }
    return { type: 'time', epoch: this.#epoch, buckets }
  }

  restore(snapshot: WindowSnapshot): void {
    const ok =
      snapshot.type === 'time' &&
      Array.isArray(snapshot.buckets) &&
      (snapshot.buckets.length === 0 || (snapshot.buckets.length === this.buckets && Number.isInteger(snapshot.epoch)))
    if (!ok) throw new ValidationError('initialState.window', `a time window of ${this.buckets} buckets`, snapshot)
    this.reset()
    if (snapshot.buckets.length === 0) return
    this.#epoch = snapshot.epoch
    this.#at = snapshot.epoch % this.buckets
    snapshot.buckets.forEach(([calls, failures, slow], i) => {
      const valid =
        [calls, failures, slow].every((n) => Number.isInteger(n) && n >= 0) && failures <= calls && slow <= calls
      if (!valid)
        throw new ValidationError('initialState.window', 'buckets of [calls, failures, slowCalls]', [
          calls,
          failures,
          slow,
        ])
      const at = (((snapshot.epoch - this.buckets + 1 + i) % this.buckets) + this.buckets) % this.buckets
      this.#calls[at] = calls
      this.#failures[at] = failures
      this.#slow[at] = slow
      this.calls += calls
      this.failures += failures
      this.slowCalls += slow
    })
  }
}
