import { ValidationError } from './errors.js'

/** A duration: a number of milliseconds, or a string with a unit such as `'250ms'`, `'30s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | `${number}${DurationUnit}`

/** Units accepted in a {@link Duration} string. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd'

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/

/**
 * Turns a {@link Duration} into milliseconds, or throws a {@link ValidationError} naming the option.
 * (Inside Bulwark, options are read with `expectDuration(name, value)` and `optionalDuration(name, value,
 * fallback)` from `core/validate.ts`, which take the name first like every validation helper; this public
 * parser takes the value first, the name being only for the message.)
 *
 * @param value the duration to parse
 * @param name the option's name, used in the error message
 * @example
 * ```ts
 * parseDuration('30s', 'ttl') // 30000
 * parseDuration(250, 'timeout') // 250
 * parseDuration('soon', 'ttl') // throws: Expected `ttl` to be a duration (ms or '30s', '5m', '1h'), got "soon"
 * ```
 */
export function parseDuration(value: Duration | undefined | unknown, name: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value
  } else if (typeof value === 'string') {
    const match = PATTERN.exec(value)
    if (match) return Number(match[1]) * UNIT_MS[match[2] as DurationUnit]
  }
  throw new ValidationError(name, "a duration (ms >= 0, or a string like '250ms', '30s', '5m', '1h')", value)
}
