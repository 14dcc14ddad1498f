import { toAbortedError } from '../core/abort.js'
import type { Clock } from '../core/clock.js'
import { invoke, linkSignal } from './context.js'
import type { PolicyFn } from './types.js'

/** How a {@link raceDeadline} ended: the function returned a value in time. */
export const VALUE = 0
/** The function threw or rejected in time. */
export const ERROR = 1
/** The caller's signal aborted first. */
export const ABORTED = 2
/** The deadline came first. */
export const TIMED_OUT = 3
export type RaceEnd = typeof VALUE | typeof ERROR | typeof ABORTED | typeof TIMED_OUT

/** A deadline for {@link raceDeadline}. */
export interface Deadline {
  /** Sets the deadline timer; a caller waits on it, so it should keep the process alive (`keepingAlive`). */
  readonly clock: Clock
  readonly ms: number
  /** The error the caller is rejected with at the deadline; the function's signal aborts with it too. */
  timeoutError(): Error
}

/**
 * Runs `fn` with a signal of its own, linked to the caller's `signal`, and races it against `deadline`. The
 * first of three ends wins, exactly once (the `settled` flag), and undoes the others (timer, links):
 * - `fn` settles: the caller gets its value or error;
 * - the caller aborts: `fn`'s signal is already aborted through the link, the caller gets an `AbortedError`;
 * - the deadline: `fn`'s signal aborts with `deadline.timeoutError()` and the caller is rejected with it,
 *   whether or not `fn` honours the signal.
 *
 * `onEnd` learns which end won (with the value or error) before the caller's promise settles; if it throws,
 * the caller is rejected with what it threw. Used by the timeout policy and by half-open probes.
 */
export function raceDeadline<T>(
  fn: PolicyFn<T>,
  signal: AbortSignal | undefined,
  deadline: Deadline,
  onEnd?: (end: RaceEnd, result: unknown) => void,
): Promise<T> {
  const controller = new AbortController()
  const unlink = linkSignal(signal, controller)
  return new Promise<T>((resolve, reject) => {
    let settled = false
    const finish = (end: RaceEnd, result: unknown): void => {
      if (settled) return
      settled = true
      deadline.clock.clearTimeout(timer)
      unlink()
      signal?.removeEventListener('abort', onAbort)
      let thrown: { error: unknown } | undefined
      try {
        onEnd?.(end, result)
      } catch (error) {
        thrown = { error }
      }
      if (end === TIMED_OUT) controller.abort(result)
      if (thrown !== undefined) reject(thrown.error)
      else if (end === VALUE) resolve(result as T)
      else if (end === ABORTED) reject(toAbortedError(signal as AbortSignal))
      else reject(result)
    }
    const onAbort = () => finish(ABORTED, undefined)
    const timer = deadline.clock.setTimeout(() => finish(TIMED_OUT, deadline.timeoutError()), deadline.ms)
    signal?.addEventListener('abort', onAbort, { once: true })
    invoke(fn, { signal: controller.signal, attempt: 1 }).then(
      (value) => finish(VALUE, value),
      (error: unknown) => finish(ERROR, error),
    )
  })
}
