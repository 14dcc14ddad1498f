import { type Backoff, backoffDelay, resolveBackoff } from '../core/backoff.js'
import type { Duration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import { expectDuration } from '../core/validate.js'

/** `openDuration`'s defaults when it is a {@link Backoff}: 30 s, doubling per consecutive opening, up to 5 min. */
const OPEN_BACKOFF = { initial: 30_000, max: 300_000, multiplier: 2 } as const

/**
 * Turns the `openDuration` option into a function of the number of consecutive openings: a fixed
 * duration, a {@link Backoff} (the n-th consecutive opening lasts its n-th wait), or a function.
 */
export function resolveOpenDuration(
  input: Duration | Backoff | ((consecutiveOpens: number) => number) | undefined,
): (consecutiveOpens: number) => number {
  if (input === undefined) return () => OPEN_BACKOFF.initial
  if (typeof input === 'function') {
    return (n) => {
      const ms = input(n)
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
        throw new ValidationError('openDuration', 'a function returning ms >= 0', ms)
      return ms
    }
  }
  if (typeof input === 'object' && input !== null) {
    const backoff = resolveBackoff('openDuration', input, OPEN_BACKOFF)
    return (n) => backoffDelay(backoff, n)
  }
  const fixed = expectDuration('openDuration', input)
  return () => fixed
}

/**
 * Decorrelated jitter ("Exponential Backoff And Jitter", AWS Architecture Blog): each delay is drawn
 * uniformly from [initial, previous * 3], capped at `max`. Retries of many clients spread out instead of
 * arriving in waves, and the delay still grows roughly exponentially.
 */
export function decorrelatedJitter(previous: number, initial: number, max: number, random: () => number): number {
  const upper = Math.max(initial, previous * 3)
  return Math.min(max, initial + random() * (upper - initial))
}
