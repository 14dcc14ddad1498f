import { ValidationError } from './errors.js'

/** Bounds for {@link expectNumber}. `min`/`max` are inclusive unless `exclusiveMin`/`exclusiveMax` are set. */
export interface NumberBounds {
  min?: number
  max?: number
  exclusiveMin?: boolean
  exclusiveMax?: boolean
  integer?: boolean
}

/**
 * Validates a number option and returns it, or throws a {@link ValidationError} whose message names
 * the option, the expected range and the value received:
 * ``Expected `failureRateThreshold` to be a number in (0, 1], got 1.5``.
 */
export function expectNumber(name: string, value: unknown, bounds: NumberBounds = {}): number {
  const { min, max, exclusiveMin = false, exclusiveMax = false, integer = false } = bounds
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    (min === undefined || (exclusiveMin ? value > min : value >= min)) &&
    (max === undefined || (exclusiveMax ? value < max : value <= max))
  if (ok) return value as number
  throw new ValidationError(name, describeBounds(bounds), value)
}

/** Like {@link expectNumber}, returning `fallback` when `value` is `undefined`. */
export function optionalNumber(name: string, value: unknown, fallback: number, bounds: NumberBounds = {}): number {
  return value === undefined ? fallback : expectNumber(name, value, bounds)
}

/** Validates a boolean option. */
export function optionalBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value === 'boolean') return value
  throw new ValidationError(name, 'a boolean', value)
}

/** Validates a function option. */
export function optionalFunction<F extends (...args: never[]) => unknown>(name: string, value: unknown, fallback: F): F
export function optionalFunction<F extends (...args: never[]) => unknown>(name: string, value: unknown): F | undefined
export function optionalFunction(name: string, value: unknown, fallback?: unknown): unknown {
  if (value === undefined) return fallback
  if (typeof value === 'function') return value
  throw new ValidationError(name, 'a function', value)
}

/** Validates that `value` is one of `choices`. */
export function expectOneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T
  throw new ValidationError(name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value)
}

/** Validates that an options argument is a plain object (or undefined, returning `{}`). */
export function expectOptions<T extends object>(name: string, value: T | undefined): T {
  if (value === undefined) return {} as T
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value
  throw new ValidationError(name, 'an options object', value)
}

function describeBounds({ min, max, exclusiveMin, exclusiveMax, integer }: NumberBounds): string {
  const kind = integer ? 'an integer' : 'a number'
  if (min === undefined && max === undefined) return `a finite ${kind.slice(kind.indexOf(' ') + 1)}`
  if (max === undefined) return `${kind} ${exclusiveMin ? '>' : '>='} ${min}`
  if (min === undefined) return `${kind} ${exclusiveMax ? '<' : '<='} ${max}`
  return `${kind} in ${exclusiveMin ? '(' : '['}${min}, ${max}${exclusiveMax ? ')' : ']'}`
}
