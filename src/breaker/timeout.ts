import { toAbortedError } from '../core/abort.js'
import type { Clock } from '../core/clock.js'
import type { Duration } from '../core/duration.js'
import { TimeoutError } from '../core/errors.js'
import { expectDuration, expectOptions, optionalClock, optionKeys } from '../core/validate.js'
import { invoke, linkSignal } from './context.js'
import { keepingAlive } from './keep-alive.js'
import type { Policy, PolicyContext, PolicyFn } from './types.js'

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
  readonly #clock: Clock

  constructor(options: TimeoutOptions) {
    const o = expectOptions('options', options, optionKeys<TimeoutOptions>({ duration: true, clock: true }))
    this.duration = expectDuration('duration', o.duration)
    // The caller waits on the deadline timer: it keeps the process alive.
    this.#clock = keepingAlive(optionalClock('clock', o.clock))
  }

  /**
   * Runs `fn` with a signal that aborts at the deadline. The caller is released at the deadline with a
   * {@link TimeoutError} (`E_TIMEOUT`) whether or not `fn` honours the signal.
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(toAbortedError(signal))
    const controller = new AbortController()
    const unlink = linkSignal(signal, controller)
    const context: PolicyContext = { signal: controller.signal, attempt: 1 }
    return new Promise<T>((resolve, reject) => {
      let settled = false
      const settle = (): boolean => {
        if (settled) return false
        settled = true
        this.#clock.clearTimeout(timer)
        unlink()
        signal?.removeEventListener('abort', onAbort)
        return true
      }
      const onAbort = () => {
        if (settle()) reject(toAbortedError(signal as AbortSignal))
      }
      const timer = this.#clock.setTimeout(() => {
        if (!settle()) return
        const error = new TimeoutError(`The call timed out after ${this.duration} ms`, {
          context: { timeout: this.duration },
        })
        controller.abort(error)
        reject(error)
      }, this.duration)
      signal?.addEventListener('abort', onAbort, { once: true })
      invoke(fn, context).then(
        (value) => {
          if (settle()) resolve(value)
        },
        (error: unknown) => {
          if (settle()) reject(error)
        },
      )
    })
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
