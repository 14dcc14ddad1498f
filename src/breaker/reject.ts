import type { Outcome } from './types.js'

/**
 * A reusable rejection: every call to {@link reject} returns a new promise that rejects with the same error.
 *
 * Why this shape: `Promise.reject(error)` returned to a caller is rejected before the caller's `await` or
 * `.catch` is attached, which sends it through Node's unhandled-rejection bookkeeping (recorded as
 * maybe-unhandled, then as handled): on the rejection path of an open breaker that costs several times
 * more than everything else. Here one rejected promise is made (and marked handled) per error, and each
 * caller gets `rejected.then()`: a fresh promise that takes the rejection one microtask later, by which
 * time the caller's handler is attached. That costs one promise and no closure, no throw, no queue of our
 * own. A caller that never handles its promise still gets an ordinary unhandled rejection, as that promise
 * is its own.
 */
export class Rejection {
  readonly #rejected: Promise<never>
  /** What `tryExecute` resolves with instead: one frozen outcome in one resolved promise, shared by every caller. */
  readonly outcome: Promise<Outcome<never>>

  constructor(readonly error: Error) {
    this.#rejected = Promise.reject(error)
    this.#rejected.catch(noop)
    this.outcome = Promise.resolve(Object.freeze({ ok: false as const, error }))
  }

  /** A new promise that rejects with `error` at the next microtask. */
  reject(): Promise<never> {
    return this.#rejected.then()
  }
}

function noop(): void {}
