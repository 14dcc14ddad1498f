import { type Duration, parseDuration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import { expectOptions, optionalNumber } from '../core/validate.js'

/** OPEN lasting `initial`, then `initial * multiplier^(n-1)` for the n-th consecutive opening, up to `max`. */
export interface OpenBackoff {
  /** How long the first opening lasts. */
  initial: Duration
  /** The longest an opening lasts. @default '5m' */
  max?: Duration
  /** Growth per consecutive opening. A number >= 1. @default 2 */
  multiplier?: number
}

/** Turns the `openDuration` option into a function of the number of consecutive openings. */
export function resolveOpenDuration(
  input: Duration | OpenBackoff | ((consecutiveOpens: number) => number) | undefined,
): (consecutiveOpens: number) => number {
  if (input === undefined) return () => 30_000
  if (typeof input === 'function') {
    return (n) => {
      const ms = input(n)
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
        throw new ValidationError('openDuration', 'a function returning ms >= 0', ms)
      return ms
    }
  }
  if (typeof input === 'object' && input !== null) {
    const o = expectOptions('openDuration', input, ['initial', 'max', 'multiplier'])
    const initial = parseDuration(o.initial, 'openDuration.initial')
    const max = o.max === undefined ? 300_000 : parseDuration(o.max, 'openDuration.max')
    if (max < initial) throw new ValidationError('openDuration.max', `a duration >= initial (${initial} ms)`, o.max)
    const multiplier = optionalNumber('openDuration.multiplier', o.multiplier, 2, { min: 1 })
    return (n) => Math.min(max, initial * multiplier ** Math.max(0, n - 1))
  }
  const fixed = parseDuration(input, 'openDuration')
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
