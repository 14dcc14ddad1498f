/**
 * Rejects promises one microtask late, in a batch.
 *
 * Why: `Promise.reject(error)` returned to a caller is rejected before the caller's `await` or `.catch` is
 * attached, which sends it through Node's unhandled-rejection bookkeeping (recorded as maybe-unhandled,
 * then as handled): on the rejection path of an open breaker that costs several times more than everything
 * else. Rejected a microtask later, the promise already has its handler. A caller that never handles it
 * still gets an ordinary unhandled rejection.
 */
export class DeferredRejections {
  readonly #rejects: ((error: unknown) => void)[] = []
  readonly #errors: unknown[] = []
  readonly #flush = () => {
    const rejects = this.#rejects
    const errors = this.#errors
    for (let i = 0; i < rejects.length; i++) rejects[i]!(errors[i])
    rejects.length = 0
    errors.length = 0
  }

  /** A promise that rejects with `error` at the next microtask. */
  reject(error: unknown): Promise<never> {
    return new Promise<never>((_, reject) => {
      this.#rejects.push(reject)
      this.#errors.push(error)
      if (this.#rejects.length === 1) queueMicrotask(this.#flush)
    })
  }
}
