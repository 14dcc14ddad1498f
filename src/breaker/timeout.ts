import { toAbortedError } from '../core/abort.js'
import type { Clock } from '../core/clock.js'
import type { Duration } from '../core/duration.js'
import { TimeoutError } from '../core/errors.js'
import { expectDuration, expectOptions, optionalClock, optionKeys } from '../core/validate.js'
import { type Deadline, raceDeadline } from './deadline.js'
import { keepingAlive } from './keep-alive.js'
import type { Policy, PolicyFn } from './types.js'

/** Options of {@link timeout}. */
export interface TimeoutOptions {
  /** How long a call may run. */
  duration: Duration
  /** @default systemClock */
  clock?: Clock
}

/** A policy that gives up on a call after a deadline (see {@link timeout}). */
export class TimeoutPolicy implements Policy {
  readonly duration: number
  readonly #deadline: Deadline

  constructor(options: TimeoutOptions) {
    const o = expectOptions('options', options, optionKeys<TimeoutOptions>({ duration: true, clock: true }))
    this.duration = expectDuration('duration', o.duration)
    const clock = optionalClock('clock', o.clock)
    this.#deadline = {
      // The caller waits on the deadline timer: it keeps the process alive.
      clock: keepingAlive(clock),
      ms: this.duration,
      timeoutError: () =>
        new TimeoutError(`The call timed out after ${this.duration} ms`, {
          context: { timeout: this.duration },
        }),
    }
  }

  /**
   * Runs `fn` with a signal that aborts at the deadline. The caller is released at the deadline with a
   * {@link TimeoutError} (`E_TIMEOUT`) whether or not `fn` honours the signal.
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(toAbortedError(signal))
    return raceDeadline(fn, signal, this.#deadline)
  }
}

/**
 * Creates a timeout policy: the function gets an `AbortSignal` that aborts at the deadline, and the caller
 * is released then with a `TimeoutError`, even if the function ignores the signal.
 *
 * @example
 * ```ts
 * const twoSeconds = timeout('2s')
 * const res = await twoSeconds.execute(({ signal }) => fetch(url, { signal }))
 * ```
 */
export function timeout(
  duration: Duration | TimeoutOptions,
  options: Omit<TimeoutOptions, 'duration'> = {},
): TimeoutPolicy {
  if (typeof duration === 'object' && duration !== null) return new TimeoutPolicy(duration)
  return new TimeoutPolicy({ ...expectOptions('options', options), duration })
}
