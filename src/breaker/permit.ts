/** What a permit reports to the breaker that issued it; `C` is the breaker's record of the call. */
export interface PermitHost<C> {
  /** Called once per permit: the call ended with `value` (`failed` false) or with the error `payload`. */
  settle(call: C, failed: boolean, payload: unknown): void
}

/**
 * A closed-state call admitted by {@link CircuitBreaker.admit}, which its caller runs and times itself.
 * The first report counts; later ones are ignored, so a caller that races the call against its own
 * deadline can report whichever comes first and let the other go.
 *
 * @example
 * ```ts
 * const permit = breaker.admit()
 * if (permit === undefined) return breaker.execute(() => redis.get(key)) // not closed: execute decides
 * try {
 *   const value = await redis.get(key)
 *   permit.succeeded(value)
 *   return value
 * } catch (error) {
 *   permit.failed(error)
 *   throw error
 * }
 * ```
 */
export class CallPermit {
  #host: PermitHost<unknown> | undefined
  readonly #call: unknown

  /** @internal Issued by {@link CircuitBreaker.admit}. */
  constructor(host: PermitHost<unknown>, call: unknown) {
    this.#host = host
    this.#call = call
  }

  /** The call returned `value` (which the breaker's `isResultFailure` may still count as a failure). */
  succeeded(value?: unknown): void {
    const host = this.#host
    if (host === undefined) return
    this.#host = undefined
    host.settle(this.#call, false, value)
  }

  /** The call failed with `error` (the breaker's `isFailure` decides whether it counts). */
  failed(error: unknown): void {
    const host = this.#host
    if (host === undefined) return
    this.#host = undefined
    host.settle(this.#call, true, error)
  }
}
