import type { Clock } from '../core/clock.js'
import type { Duration } from '../core/duration.js'
import { expectOptions, optionalClock, optionalDuration, optionalNumber, optionKeys } from '../core/validate.js'
import { FAILED, TimeWindow } from './window.js'

/** Options of {@link retryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed as a fraction of first attempts over the window. A number >= 0. @default 0.2 */
  ratio?: number
  /** Retries always allowed per second, so low traffic can still retry. A number >= 0. @default 1 */
  minRetriesPerSecond?: number
  /** The window retries and calls are counted over. @default '10s' */
  window?: Duration
  /** @default systemClock */
  clock?: Clock
}

/**
 * A retry budget (as in Finagle and gRPC): retries may be at most `ratio` of the calls over a sliding window,
 * plus a small floor. When a dependency fails, retries stop at the budget instead of multiplying its load.
 * One budget can be shared by several retry policies that call the same dependency.
 */
export class RetryBudget {
  /** `calls` counts first attempts and retries; `failures` (the FAILED bit) marks the retries among them. */
  readonly #window: TimeWindow
  readonly #ratio: number
  readonly #floor: number
  readonly #clock: Clock

  constructor(options: RetryBudgetOptions = {}) {
    const o = expectOptions(
      'options',
      options,
      optionKeys<RetryBudgetOptions>({ ratio: true, minRetriesPerSecond: true, window: true, clock: true }),
    )
    const window = optionalDuration('window', o.window, 10_000, { positive: true })
    this.#window = new TimeWindow(window, 10)
    this.#ratio = optionalNumber('ratio', o.ratio, 0.2, { min: 0 })
    this.#floor = optionalNumber('minRetriesPerSecond', o.minRetriesPerSecond, 1, { min: 0 }) * (window / 1000)
    this.#clock = optionalClock('clock', o.clock)
  }

  /** Counts a first attempt. */
  recordCall(): void {
    this.#window.record(this.#clock.now(), 0)
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is spent. */
  tryRetry(): boolean {
    const now = this.#clock.now()
    const w = this.#window
    w.refresh(now)
    const retries = w.failures
    if (retries + 1 > this.#ratio * (w.calls - retries) + this.#floor) return false
    w.record(now, FAILED)
    return true
  }
}

/**
 * Creates a retry budget to share between `retry` policies.
 *
 * @example
 * ```ts
 * const budget = retryBudget({ ratio: 0.1, window: '10s' })
 * const getUser = retry({ attempts: 3, budget })
 * const getOrders = retry({ attempts: 5, budget })
 * ```
 */
export function retryBudget(options?: RetryBudgetOptions): RetryBudget {
  return new RetryBudget(options)
}
