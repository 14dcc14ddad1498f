import { setMaxListeners } from 'node:events'
import type { Clock } from '../core/clock.js'
import { TimeoutError } from '../core/errors.js'

/** What {@link raceSoft} resolves with when time runs out. */
export const TIMED_OUT: unique symbol = Symbol('timed out')

// Calls per bucket at most: a driver may add an abort listener per call, and an EventTarget checks
// its listeners one by one on every add, so a bucket's list must stay short.
const MAX_MEMBERS = 64

/** Calls whose deadlines fall close together: they share one abort signal and one timer. */
interface Bucket {
  /** When the timer fires (clock time). */
  readonly fireAt: number
  /** How long the first call had: for the error message. */
  readonly ms: number
  members: number
  readonly controller: AbortController
  /** Rejecters of the raced calls still running. */
  readonly running: Set<(error: unknown) => void>
  /** Whether a call that settles on its signal alone joined: the signal must abort when the timer fires. */
  signalled: boolean
}

/**
 * Hard deadlines for L2 calls and bus publishes. An `AbortController` and a timer per call cost more
 * than the rest of an L2 hit, so calls whose deadlines lie within 1% of their time left (at least
 * 1 ms) after an open bucket's, up to 64 of them, share both: the timer fires at the first call's
 * deadline, so no call waits past its own (a later one may be abandoned up to 1% early). Calls that
 * settle leave the bucket at once.
 */
export class Deadlines {
  readonly #clock: Clock
  #open: Bucket | undefined

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /**
   * Runs `fn` with a signal that aborts once `ms` have passed, and rejects with a {@link TimeoutError}
   * then, even if `fn` ignores the signal.
   */
  run<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.until(this.#clock.now() + ms, fn)
  }

  /**
   * Like {@link run}, with the deadline as a clock time: the steps of one call (an L2 write, then its
   * publish) share it. With no time left, rejects at once without calling `fn`.
   */
  until<T>(deadline: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const bucket = this.#bucket(deadline)
    if (bucket === undefined) return Promise.reject(noTimeLeft())
    let work: Promise<T>
    try {
      work = fn(bucket.controller.signal)
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise<T>((resolve, reject) => {
      bucket.running.add(reject)
      work.then(
        (value) => {
          bucket.running.delete(reject)
          resolve(value)
        },
        (error: unknown) => {
          bucket.running.delete(reject)
          reject(error)
        },
      )
    })
  }

  /**
   * Like {@link until}, for an `fn` that itself settles as soon as its signal aborts (the signal aborts
   * with the {@link TimeoutError}): no race of our own, so no promise and no closures per call.
   */
  untilSettling<T>(deadline: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const bucket = this.#bucket(deadline)
    if (bucket === undefined) return Promise.reject(noTimeLeft())
    bucket.signalled = true
    return fn(bucket.controller.signal)
  }

  #bucket(deadline: number): Bucket | undefined {
    const left = deadline - this.#clock.now()
    return left > 0 ? this.#join(deadline, left) : undefined
  }

  #join(deadline: number, left: number): Bucket {
    const open = this.#open
    if (
      open !== undefined &&
      open.fireAt <= deadline &&
      deadline - open.fireAt <= Math.max(1, left / 100) &&
      open.members < MAX_MEMBERS
    ) {
      open.members++
      return open
    }
    const bucket: Bucket = {
      fireAt: deadline,
      ms: left,
      members: 1,
      controller: new AbortController(),
      running: new Set(),
      signalled: false,
    }
    // Up to MAX_MEMBERS listeners on one signal is the design, not a leak: no warning.
    setMaxListeners(MAX_MEMBERS + 1, bucket.controller.signal)
    this.#open = bucket
    this.#clock.setTimeout(() => this.#expire(bucket), left)
    return bucket
  }

  #expire(bucket: Bucket): void {
    if (this.#open === bucket) this.#open = undefined
    if (bucket.running.size === 0 && !bucket.signalled) return
    const error = timedOut(bucket.ms)
    bucket.controller.abort(error)
    for (const reject of bucket.running) reject(error)
    bucket.running.clear()
  }
}

function noTimeLeft(): TimeoutError {
  return new TimeoutError('No time left before the deadline', { context: { timeoutMs: 0 }, noStack: true })
}

function timedOut(ms: number): TimeoutError {
  return new TimeoutError(`Timed out after ${ms} ms`, { context: { timeoutMs: ms }, noStack: true })
}

/**
 * Resolves with `work`'s value, or with {@link TIMED_OUT} if `ms` pass first. `work` must not reject
 * (the L2 gateway's promises never do). The timer is cleared as soon as `work` settles.
 */
export function raceSoft<T>(work: Promise<T>, ms: number, clock: Clock): Promise<T | typeof TIMED_OUT> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve(TIMED_OUT), ms)
    work.then((value) => {
      clock.clearTimeout(timer)
      resolve(value)
    })
  })
}
