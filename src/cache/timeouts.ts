import type { Clock } from '../core/clock.js'
import { TimeoutError } from '../core/errors.js'

/** What {@link withDeadline} and {@link raceSoft} resolve with when time runs out. */
export const TIMED_OUT: unique symbol = Symbol('timed out')

/** What {@link withDeadline} needs: the deadline, the clock, a name for the error, an outer signal. */
export interface Deadline {
  ms: number
  clock: Clock
  what: string
  signal?: AbortSignal | undefined
}

/**
 * Runs `fn` with a signal that aborts after `ms` on `clock`, and rejects with a {@link TimeoutError}
 * then even if `fn` ignores the signal. The outer `signal` aborts the call too.
 */
export function withDeadline<T>(deadline: Deadline, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { ms, clock, what, signal: outer } = deadline
  const controller = new AbortController()
  const onOuterAbort = () => controller.abort(outer?.reason)
  outer?.addEventListener('abort', onOuterAbort, { once: true })
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      const error = new TimeoutError(`${what} timed out after ${ms} ms`, { timeoutMs: ms }, { noStack: true })
      controller.abort(error)
      reject(error)
    }, ms)
    const settle = () => {
      clock.clearTimeout(timer)
      outer?.removeEventListener('abort', onOuterAbort)
    }
    let work: Promise<T>
    try {
      work = fn(controller.signal)
    } catch (error) {
      work = Promise.reject(error)
    }
    work.then(
      (value) => {
        settle()
        resolve(value)
      },
      (error: unknown) => {
        settle()
        reject(error)
      },
    )
  })
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
