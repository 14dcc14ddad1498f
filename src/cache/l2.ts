import type { Clock } from '../core/clock.js'
import type { TypedEmitter } from '../core/events.js'
import type { CacheEvents, Counters } from './stats.js'
import { Deadlines } from './timeouts.js'
import type { L2Driver } from './types.js'

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

  constructor(
    driver: L2Driver,
    executor: L2Executor | undefined,
    observer: { clock: Clock; counters: Counters; events: TypedEmitter<CacheEvents> },
  ) {
    this.driver = driver
    this.#executor = executor
    this.#deadlines = new Deadlines(observer.clock)
    this.#counters = observer.counters
    this.#events = observer.events
  }

  /** Runs `fn(driver, signal)` with the hard deadline `hard` (ms), through the breaker when there is one. */
  call<T>(
    operation: string,
    hard: number,
    fn: (driver: L2Driver, signal: AbortSignal) => Promise<T>,
  ): Promise<L2Result<T>> {
    // The breaker's own signal is not linked: when it gives up on a call it rejects the caller itself,
    // and the driver call ends at the hard deadline anyway.
    const run = () => this.#deadlines.run(hard, (signal) => fn(this.driver, signal))
    let promise: Promise<T>
    try {
      promise = this.#executor ? this.#executor.execute(run) : run()
    } catch (error) {
      promise = Promise.reject(error)
    }
    return promise.then(undefined, (error: unknown) => this.#fail(operation, error))
  }

  #fail(operation: string, error: unknown): typeof L2_FAILED {
    this.#counters.l2Errors++
    this.#events.emit('l2Error', operation, error)
    return L2_FAILED
  }
}
