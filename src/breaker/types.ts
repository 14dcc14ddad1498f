/** What every policy passes to the function it runs. */
export interface PolicyContext {
  /** Aborts when the caller's signal aborts or a policy (a timeout, a half-open deadline) gives up on the call. */
  readonly signal: AbortSignal
  /**
   * The number of this call: 1 for the first, then 2, 3... when a `retry` policy runs the function again.
   * (Counted the same way as a saga step's `StepContext.attempt`.)
   */
  readonly attempt: number
}

/** The function a policy runs. It may return a value or a promise. */
export type PolicyFn<T> = (context: PolicyContext) => PromiseLike<T> | T

/**
 * One interface for every policy: a breaker, `retry`, `timeout`, `bulkhead`, `fallback`, and what `wrap` returns.
 * `Alt` is the type a policy may resolve with instead of the function's result (a fallback value).
 *
 * @example
 * ```ts
 * const policy: Policy = wrap(retry({ attempts: 3 }), circuitBreaker(), timeout('2s'))
 * const user = await policy.execute(({ signal }) => fetchUser(id, { signal }))
 * ```
 */
export interface Policy<Alt = never> {
  /** Runs `fn` under this policy. `signal` cancels the call (and is passed down in the context). */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T | Alt>
}

/** A type-only key carrying the fallback type of a policy (see {@link AltOf}); it has no runtime value. */
export declare const ALT: unique symbol

/** The type a policy may resolve with instead of the function's result: a fallback's value, or `never`. */
export type AltOf<P> = P extends { readonly [ALT]?: infer A } ? (unknown extends A ? never : A) : never

/** A breaker's state. */
export type CircuitState = 'closed' | 'open' | 'half_open' | 'forced_open' | 'disabled'

/** The result of {@link CircuitBreaker.tryExecute}: an outcome instead of a throw. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown }
