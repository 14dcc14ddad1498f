import type { Clock, TimerHandle } from '../core/clock.js'

const kept = new WeakMap<Clock, Clock>()

/**
 * `clock`, with every timer it sets kept alive: for the timers a caller's pending promise waits on (retry's
 * backoff, a timeout, a half-open probe's deadline).
 *
 * Why: the system clock unrefs its timers, which suits background housekeeping (a stale-time tick, sweeps)
 * but not a timer that is the only thing between a caller and its answer: with it unref'd, a script whose
 * last pending work is `await retry(...).execute(fn)` exits with code 13 before the retry runs. A Node timer
 * handle is ref'd again here; a handle without `ref` (a fake clock's) is returned as it is.
 */
export function keepingAlive(clock: Clock): Clock {
  let wrapped = kept.get(clock)
  if (wrapped === undefined) {
    wrapped = {
      now: () => clock.now(),
      setTimeout(callback: () => void, ms: number): TimerHandle {
        const handle = clock.setTimeout(callback, ms)
        ;(handle as { ref?: () => unknown }).ref?.()
        return handle
      },
      clearTimeout: (handle) => clock.clearTimeout(handle),
    }
    kept.set(clock, wrapped)
  }
  return wrapped
}
