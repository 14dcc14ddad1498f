import type { Duration } from './duration.js'
import { ValidationError } from './errors.js'
import { expectOptions, optionalDuration, optionalNumber, optionKeys } from './validate.js'

/**
 * Exponential backoff: the one shape for "wait longer after each failure" everywhere in Bulwark. The n-th
 * wait (n = 1 for the first) is `initial * multiplier^(n-1)`, capped at `max`.
 *
 * It is taken by a breaker's `openDuration` (the n-th consecutive opening), `retry`'s `backoff` (the wait
 * before the n-th retry) and a saga's `compensationRetry.backoff` / `retriableRetry.backoff` (the wait
 * after the n-th failure). Each use documents its own defaults; `multiplier` is 2 in all of them.
 *
 * @example
 * ```ts
 * const backoff: Backoff = { initial: '1s', max: '1m', multiplier: 2 } // 1 s, 2 s, 4 s ... 1 min
 * circuitBreaker({ openDuration: backoff })
 * retry({ attempts: 5, backoff, jitter: 'none' })
 * ```
 */
export interface Backoff {
  /** The first wait. */
  initial?: Duration
  /** The longest wait; at least `initial`. */
  max?: Duration
  /** Growth of the wait per step. A number >= 1. @default 2 */
  multiplier?: number
}

/** A {@link Backoff} validated and in milliseconds. */
export interface ResolvedBackoff {
  readonly initial: number
  readonly max: number
  readonly multiplier: number
}

/**
 * Validates a {@link Backoff} option named `name` (`'openDuration'`, `'backoff'`, ...) and fills in
 * `defaults` for what it leaves out.
 */
export function resolveBackoff(name: string, input: Backoff | undefined, defaults: ResolvedBackoff): ResolvedBackoff {
  const o = expectOptions(name, input, optionKeys<Backoff>({ initial: true, max: true, multiplier: true }))
  const initial = optionalDuration(`${name}.initial`, o.initial, defaults.initial)
  const max = optionalDuration(`${name}.max`, o.max, defaults.max)
  if (max < initial) throw new ValidationError(`${name}.max`, `a duration >= initial (${initial} ms)`, o.max)
  const multiplier = optionalNumber(`${name}.multiplier`, o.multiplier, defaults.multiplier, { min: 1 })
  return { initial, max, multiplier }
}

/** The n-th wait of `backoff` (n = 1 for the first): `min(max, initial * multiplier^(n-1))`. */
export function backoffDelay(backoff: ResolvedBackoff, n: number): number {
  return Math.min(backoff.max, backoff.initial * backoff.multiplier ** Math.max(0, n - 1))
}
