import { expectOptions, optionalFunction, optionKeys } from '../core/validate.js'
import { contextFor } from './context.js'
import type { ALT, Policy, PolicyFn } from './types.js'

/** Options of {@link fallback}. */
export interface FallbackOptions {
  /** Which errors fall back; others are rethrown. A call aborted by its own caller never falls back. @default every error */
  when?: (error: unknown) => boolean
}

/** A policy that resolves with a fallback when the call fails or is rejected (see {@link fallback}). */
export class FallbackPolicy<F> implements Policy<F> {
  declare readonly [ALT]?: F
  readonly #handler: (error: unknown) => F | PromiseLike<F>
  readonly #when: (error: unknown) => boolean

  constructor(handler: (error: unknown) => F | PromiseLike<F>, options: FallbackOptions = {}) {
    this.#handler = handler
    this.#when = optionalFunction(
      'when',
      expectOptions('options', options, optionKeys<FallbackOptions>({ when: true })).when,
      () => true,
    )
  }

  /** Runs `fn`; if it fails with an error `when` accepts, resolves with the fallback instead. */
  async execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T | F> {
    try {
      return await fn(contextFor(signal))
    } catch (error) {
      if (signal?.aborted || !this.#when(error)) throw error
      return this.#handler(error)
    }
  }
}

/**
 * Creates a fallback policy: a value, or a function of the error, used when the wrapped call fails or a
 * breaker, bulkhead or timeout rejects it. (To fall back to a function value, return it from a function.)
 *
 * @example
 * ```ts
 * const prices = wrap(fallback(() => cachedPrices), circuitBreaker(), timeout('1s'))
 * const current = await prices.execute(({ signal }) => fetchPrices({ signal }))
 * ```
 */
export function fallback<F>(
  handler: (error: unknown) => F | PromiseLike<F>,
  options?: FallbackOptions,
): FallbackPolicy<F>
export function fallback<F>(value: F, options?: FallbackOptions): FallbackPolicy<F>
export function fallback<F>(
  value: F | ((error: unknown) => F | PromiseLike<F>),
  options?: FallbackOptions,
): FallbackPolicy<F> {
  const handler = typeof value === 'function' ? (value as (error: unknown) => F | PromiseLike<F>) : () => value
  return new FallbackPolicy(handler, options)
}
