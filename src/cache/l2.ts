import type { Clock } from '../core/clock.js'
import type { TypedEmitter } from '../core/events.js'
import type { CacheEvents, Counters } from './stats.js'
import { Deadlines } from './timeouts.js'
import type { L2Driver, L2Entry } from './types.js'

/** What an L2 call resolves with when it failed, timed out or was refused: callers fall back, never throw. */
export const L2_FAILED: unique symbol = Symbol('L2 failed')
export type L2Result<T> = T | typeof L2_FAILED

/** The part of a `bulwark/breaker` policy the gateway uses. */
export interface L2Executor {
  execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T>
}

/**
 * Every L2 call goes through here: a hard deadline inside the breaker (so a timeout counts as a
 * failure and a hung Redis opens the circuit), and every error turned into {@link L2_FAILED} plus a
 * counted `l2Error` event. The returned promises never reject.
 */
export class L2Gateway {
  readonly driver: L2Driver
  readonly #executor: L2Executor | undefined
  readonly #deadlines: Deadlines
  readonly #counters: Counters
  readonly #events: TypedEmitter<CacheEvents>
  readonly #settles: boolean

  constructor(
    driver: L2Driver,
    executor: L2Executor | undefined,
    observer: { clock: Clock; counters: Counters; events: TypedEmitter<CacheEvents> },
  ) {
    this.driver = driver
    this.#settles = driver.settlesOnAbort === true
    this.#executor = executor
    this.#deadlines = new Deadlines(observer.clock)
    this.#counters = observer.counters
    this.#events = observer.events
  }

  /**
   * Runs `fn(driver, signal)` until `deadline` (a clock time: the steps of one public call share it),
   * through the breaker when there is one. Never rejects: failures resolve to {@link L2_FAILED}.
   * `fn` must pass the signal on to the driver (see `L2Driver.settlesOnAbort`).
   */
  call<T>(
    operation: string,
    deadline: number,
    fn: (driver: L2Driver, signal: AbortSignal) => Promise<T>,
  ): Promise<L2Result<T>> {
    return this.guard(deadline, (signal) => fn(this.driver, signal), this.#settles).then(undefined, (error: unknown) =>
      this.failed(operation, error),
    )
  }

  /**
   * `driver.get(key)` until `deadline`, behind the breaker; rejects when it fails (turn the error into
   * {@link L2_FAILED} with {@link failed}). The L2 hit path: one closure, and no race of its own when the
   * driver settles on abort.
   */
  get(key: string, deadline: number): Promise<L2Entry | undefined> {
    return this.guard(deadline, (signal) => this.driver.get(key, signal), this.#settles)
  }

  /**
   * Runs `fn` until `deadline` behind the breaker; rejects when it fails, times out or is refused. The
   * bus publishes of a cache go through here too: they travel to the same Redis as its L2 calls.
   * `settles`: `fn` settles on its own once the signal aborts (no race needed).
   */
  guard<T>(deadline: number, fn: (signal: AbortSignal) => Promise<T>, settles = false): Promise<T> {
    // The breaker's own signal is not linked: when it gives up on a call it rejects the caller itself,
    // and the call ends at the deadline anyway.
    const deadlines = this.#deadlines
    const run = settles ? () => deadlines.untilSettling(deadline, fn) : () => deadlines.until(deadline, fn)
    try {
      return this.#executor ? this.#executor.execute(run) : run()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Counts a failed L2 call and reports it; what a call resolves with instead of its value. */
  failed(operation: string, error: unknown): typeof L2_FAILED {
    this.#counters.l2Errors++
    this.#events.emit('l2Error', operation, error)
    return L2_FAILED
  }
}
