import { type CircuitBreaker, type CircuitBreakerOptions, circuitBreaker } from '../breaker/index.js'
import type { Clock } from '../core/clock.js'
import { BulwarkError, isBulwarkError, ValidationError } from '../core/errors.js'

/** The options of the breaker a cache creates, unless the cache's `breaker` option says otherwise. */
const CACHE_BREAKER_DEFAULTS = {
  failureRateThreshold: 0.5,
  slowCallRateThreshold: 0.8,
  slowCallDuration: 250,
  minimumCalls: 10,
  window: { type: 'count', size: 50 },
  openDuration: 5_000,
} as const satisfies CircuitBreakerOptions

/**
 * The circuit breaker every L2 call of a cache goes through (shared by its namespaces), from the
 * cache's `breaker` option: a breaker given as is, options merged over the cache's defaults, or none.
 * A timeout counts as a failure, and a call still running past `slowCallDuration` counts as slow before
 * it ends, so a hung Redis opens the circuit without waiting for timeouts to pile up. While it is open,
 * L2 calls are refused at once and the cache serves from L1 and the loader.
 *
 * Built when the cache is created, so a bad option throws there, named from the cache's options
 * (`breaker.failureRateThreshold`).
 */
export function l2Breaker(
  value: CircuitBreakerOptions | CircuitBreaker | false | undefined,
  cache: { namespace: string; clock: Clock },
): CircuitBreaker | undefined {
  if (value === false) return undefined
  if (isBreaker(value)) return value
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new ValidationError('breaker', 'circuit breaker options, a CircuitBreaker or false', value)
  }
  try {
    return circuitBreaker({
      name: `cache:${cache.namespace}:l2`,
      clock: cache.clock,
      ...CACHE_BREAKER_DEFAULTS,
      ...value,
    })
  } catch (error) {
    throw underBreaker(error)
  }
}

/** A breaker rather than options: anything that runs calls (another installed copy's breaker too). */
function isBreaker(value: unknown): value is CircuitBreaker {
  return typeof (value as { execute?: unknown } | null | undefined)?.execute === 'function'
}

/**
 * The breaker's own validation error, with every option it names moved under `breaker.`, so the message
 * points at the cache option that was wrong (``Expected `breaker.minimumCalls` to be ...``).
 */
function underBreaker(error: unknown): unknown {
  if (!isBulwarkError(error, 'E_INVALID_OPTION')) return error
  const context = error.context as { name?: unknown; suggestion?: unknown; known?: unknown }
  const names = new Set<string>()
  for (const name of [context.name, context.suggestion, ...(Array.isArray(context.known) ? context.known : [])]) {
    if (typeof name === 'string') names.add(name)
  }
  const under = (name: unknown) => (typeof name === 'string' ? `breaker.${name}` : name)
  const message = error.message.replace(/`([^`]+)`/g, (text, name: string) =>
    names.has(name) ? `\`breaker.${name}\`` : text,
  )
  return new BulwarkError('E_INVALID_OPTION', message, {
    cause: error,
    context: {
      ...context,
      name: under(context.name),
      ...(context.suggestion !== undefined && { suggestion: under(context.suggestion) }),
    },
  })
}
