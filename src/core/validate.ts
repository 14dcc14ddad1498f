import { type Clock, systemClock } from './clock.js'
import { parseDuration } from './duration.js'
import { BulwarkError, ValidationError } from './errors.js'

// Every helper here takes the option's name first, then the value, then what else it needs (bounds, a
// fallback, choices), as `new ValidationError(name, expected, received)` does.

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

/** Bounds for {@link expectDuration}: `positive` rejects 0 (a window, a lease, a timeout). */
export interface DurationBounds {
  positive?: boolean
}

/**
 * Validates a {@link Duration} option and returns it in milliseconds, or throws a {@link ValidationError}
 * naming the option (see `parseDuration`, the public parser).
 *
 * @example
 * ```ts
 * expectDuration('window', '10s', { positive: true }) // 10000
 * ```
 */
export function expectDuration(name: string, value: unknown, bounds: DurationBounds = {}): number {
  const ms = parseDuration(value, name)
  if (bounds.positive && ms <= 0) throw new ValidationError(name, 'a duration > 0', value)
  return ms
}

/** Like {@link expectDuration}, returning `fallback` (in ms) when `value` is `undefined`. */
export function optionalDuration(name: string, value: unknown, fallback: number, bounds: DurationBounds = {}): number {
  return value === undefined ? fallback : expectDuration(name, value, bounds)
}

/** Validates a `clock` option: a {@link Clock} with `now`, `setTimeout` and `clearTimeout`; `systemClock` when `undefined`. */
export function optionalClock(name: string, value: unknown): Clock {
  if (value === undefined) return systemClock
  const clock = value as Partial<Clock> | null
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    throw new ValidationError(name, 'a Clock { now, setTimeout, clearTimeout }', value)
  }
  return value as Clock
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

/**
 * The option names of an options interface `T`, as a list {@link expectOptions} can check against. The
 * argument must name every key of `T` and nothing else, so the compiler keeps the list in step with
 * the interface: an option added to `T` and not here fails to compile instead of being rejected.
 *
 * @example
 * ```ts
 * const RETRY_OPTIONS = optionKeys<RetryOptions>({ attempts: true, backoff: true, ... })
 * ```
 */
export function optionKeys<T extends object>(keys: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.freeze(Object.keys(keys))
}

/**
 * Validates that an options argument is a plain object (or undefined, returning `{}`). Given the known
 * option names, it also rejects a key outside them with `E_INVALID_OPTION`, naming the closest known
 * one: in JavaScript a misspelt option (`createCache({ tll: 60000 })`) would otherwise be ignored.
 * `name` is the options' path in messages: `'options'` for a factory's argument, else a prefix
 * (`'l1'` gives `l1.maxEntries`).
 */
export function expectOptions<T extends object>(name: string, value: T | undefined, known?: readonly string[]): T {
  if (value === undefined) return {} as T
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(name, 'an options object', value)
  }
  if (known !== undefined) {
    for (const key of Object.keys(value)) if (!known.includes(key)) throw unknownOption(name, key, known)
  }
  return value
}

/**
 * Options renamed before 1.0, by old name, with what a user must know to move. An old name is an unknown
 * option like any other (there are no aliases); this only makes its message name the new one. An entry
 * applies where the new name's first segment is a known option.
 */
const RENAMED: Readonly<Record<string, readonly [to: string, note?: string]>> = {
  initialDelay: ['backoff.initial'],
  maxDelay: ['backoff.max'],
  factor: ['backoff.multiplier'],
  maxAttempts: ['attempts', 'attempts in all, the first included'],
}

function renamedTo(key: string, known: readonly string[]): readonly [to: string, note?: string] | undefined {
  const renamed = Object.hasOwn(RENAMED, key) ? RENAMED[key] : undefined
  return renamed !== undefined && known.includes(renamed[0].split('.')[0] as string) ? renamed : undefined
}

function unknownOption(name: string, key: string, known: readonly string[]): BulwarkError {
  const path = (option: string) => (name === 'options' ? option : `${name}.${option}`)
  const renamed = renamedTo(key, known)
  if (renamed !== undefined) {
    const [to, note] = renamed
    return new BulwarkError(
      'E_INVALID_OPTION',
      `Unknown option \`${path(key)}\`; did you mean \`${path(to)}\`? (renamed${note ? `; ${note}` : ''})`,
      { context: { name: path(key), suggestion: path(to), known } },
    )
  }
  const closest = closestName(key, known)
  const hint =
    closest === undefined
      ? `known options: ${known.map((k) => `\`${path(k)}\``).join(', ')}`
      : `did you mean \`${path(closest)}\`?`
  return new BulwarkError('E_INVALID_OPTION', `Unknown option \`${path(key)}\`; ${hint}`, {
    context: { name: path(key), suggestion: closest === undefined ? undefined : path(closest), known },
  })
}

/** The known name nearest to `key` in edit distance, if near enough to be a slip rather than another word. */
function closestName(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const distance = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= Math.max(2, Math.ceil(key.length / 3)) ? best : undefined
}

/** Levenshtein distance, counting a swap of two neighbours as one edit (`tll` -> `ttl`). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => {
    const row = new Array<number>(b.length + 1).fill(0)
    row[0] = i
    return row
  })
  for (let j = 0; j <= b.length; j++) (rows[0] as number[])[j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i] as number[]
      const above = rows[i - 1] as number[]
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1)
      }
      row[j] = d
    }
  }
  return (rows[a.length] as number[])[b.length] as number
}

function describeBounds({ min, max, exclusiveMin, exclusiveMax, integer }: NumberBounds): string {
  const kind = integer ? 'an integer' : 'a number'
  if (min === undefined && max === undefined) return `a finite ${kind.slice(kind.indexOf(' ') + 1)}`
  if (max === undefined) return `${kind} ${exclusiveMin ? '>' : '>='} ${min}`
  if (min === undefined) return `${kind} ${exclusiveMax ? '<' : '<='} ${max}`
  return `${kind} in ${exclusiveMin ? '(' : '['}${min}, ${max}${exclusiveMax ? ')' : ']'}`
}
