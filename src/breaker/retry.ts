import { sleep, throwIfAborted } from '../core/abort.js'
import { type Backoff, backoffDelay, type ResolvedBackoff, resolveBackoff } from '../core/backoff.js'
import type { Clock } from '../core/clock.js'
import { isBulwarkError, ValidationError } from '../core/errors.js'
import { TypedEmitter } from '../core/events.js'
import {
  expectOneOf,
  expectOptions,
  optionalClock,
  optionalFunction,
  optionalNumber,
  optionKeys,
} from '../core/validate.js'
import { decorrelatedJitter } from './backoff.js'
import type { CircuitBreaker } from './breaker.js'
import { RetryBudget, type RetryBudgetOptions } from './budget.js'
import { type Guarded, type GuardingBreaker, kExecuteGuarded } from './compose.js'
import { contextFor } from './context.js'
import { isBrokenCircuitError, RetryBudgetExhaustedError } from './errors.js'
import { keepingAlive } from './keep-alive.js'
import type { Policy, PolicyFn } from './types.js'

/** Options of {@link retry}. */
export interface RetryOptions {
  /**
   * Attempts in all, the first call included: `attempts: 3` is one call and at most two retries. An integer
   * >= 1. @default 3
   */
  attempts?: number
  /**
   * The waits between attempts. `initial` is the first wait and the lower bound of every wait, `max` the
   * longest. With `jitter: 'none'` the n-th retry waits `initial * multiplier^(n-1)` (capped at `max`).
   * @default { initial: '100ms', max: '10s', multiplier: 2 }
   */
  backoff?: Backoff
  /**
   * `'decorrelated'`: each wait is drawn from [`backoff.initial`, 3 × the previous wait], capped at
   * `backoff.max` (decorrelated jitter grows by its own factor: `backoff.multiplier` is then rejected).
   * `'none'`: the waits follow `backoff` exactly. @default 'decorrelated'
   */
  jitter?: 'decorrelated' | 'none'
  /**
   * Which errors are worth retrying; `attempt` is the number of the attempt that failed (1 for the first
   * call). Never retried whatever it says: a broken circuit, an abort, a retry budget or bulkhead rejection,
   * and invalid options. @default every other error
   */
  isRetryable?: (error: unknown, attempt: number) => boolean
  /** A shared {@link RetryBudget}, or options to make one for this policy. @default undefined (no budget) */
  budget?: RetryBudget | RetryBudgetOptions
  /**
   * Breakers guarding the retried call: no retry is attempted while one of them is open. `wrap` adds the
   * breakers placed after the retry automatically. @default []
   */
  breakers?: CircuitBreaker[]
  /** A source of uniform numbers in [0, 1), for tests. @default Math.random */
  random?: () => number
  /** @default systemClock */
  clock?: Clock
}

/** Events of a retry policy. */
export interface RetryEvents {
  /** A retry is scheduled after `delayMs`; `attempt` is the attempt that failed (1 for the first call). */
  retry: (error: unknown, attempt: number, delayMs: number) => void
  /** The policy gave up and rethrows `error` after `attempts` attempts. */
  giveUp: (error: unknown, attempts: number) => void
}

/** `backoff`'s defaults: 100 ms, doubling (with `jitter: 'none'`), up to 10 s. */
const RETRY_BACKOFF = { initial: 100, max: 10_000, multiplier: 2 } as const

const NEVER_RETRIED = [
  'E_ABORTED',
  'E_BULKHEAD_REJECTED',
  'E_RETRY_BUDGET_EXHAUSTED',
  'E_INVALID_OPTION',
  'E_INVALID_ARGUMENT',
] as const

/** A policy that runs a call again when it fails (see {@link retry}). */
export class RetryPolicy extends TypedEmitter<RetryEvents> implements Policy, Guarded {
  readonly attempts: number
  readonly #backoff: ResolvedBackoff
  readonly #jitter: 'decorrelated' | 'none'
  readonly #isRetryable: (error: unknown, attempt: number) => boolean
  readonly #budget: RetryBudget | undefined
  readonly #breakers: readonly CircuitBreaker[]
  readonly #random: () => number
  readonly #clock: Clock
  /** Backoff timers: the caller waits on them, so they keep the process alive. */
  readonly #waitClock: Clock

  constructor(options: RetryOptions = {}) {
    super()
    const o = expectOptions(
      'options',
      options,
      optionKeys<RetryOptions>({
        attempts: true,
        backoff: true,
        jitter: true,
        isRetryable: true,
        budget: true,
        breakers: true,
        random: true,
        clock: true,
      }),
    )
    this.attempts = optionalNumber('attempts', o.attempts, 3, { min: 1, integer: true })
    this.#backoff = resolveBackoff('backoff', o.backoff, RETRY_BACKOFF)
    this.#jitter = o.jitter === undefined ? 'decorrelated' : expectOneOf('jitter', o.jitter, ['decorrelated', 'none'])
    if (this.#jitter === 'decorrelated' && o.backoff?.multiplier !== undefined) {
      throw new ValidationError(
        'backoff.multiplier',
        "unset with jitter 'decorrelated' (each wait is drawn from [initial, 3 x the previous wait]; use jitter 'none' for a multiplier)",
        o.backoff.multiplier,
      )
    }
    this.#isRetryable = optionalFunction('isRetryable', o.isRetryable, () => true)
    this.#clock = optionalClock('clock', o.clock)
    this.#waitClock = keepingAlive(this.#clock)
    this.#budget =
      o.budget === undefined || o.budget instanceof RetryBudget
        ? o.budget
        : new RetryBudget({ clock: this.#clock, ...o.budget })
    if (o.breakers !== undefined && !Array.isArray(o.breakers))
      throw new ValidationError('breakers', 'an array of breakers', o.breakers)
    this.#breakers = o.breakers ?? []
    this.#random = optionalFunction('random', o.random, Math.random)
  }

  /** Runs `fn`, retrying failures with backoff; rethrows the last error when it gives up. */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    return this[kExecuteGuarded](fn, signal, this.#breakers)
  }

  /**
   * {@link execute}, not retrying while any of `breakers` is open. `wrap` calls it with the breakers after the
   * retry, through a `Symbol.for` key so that a `wrap` of another installed copy can too (see compose.ts).
   */
  async [kExecuteGuarded]<T>(
    fn: PolicyFn<T>,
    signal: AbortSignal | undefined,
    breakers: readonly GuardingBreaker[],
  ): Promise<T> {
    this.#budget?.recordCall()
    const { initial, max } = this.#backoff
    // Decorrelated jitter starts from the initial delay: the first retry waits in [initial, 3 * initial].
    let delay = initial
    // Attempt 1 is the first call.
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal)
      try {
        return await fn(contextFor(signal, attempt))
      } catch (error) {
        if (!this.#shouldRetry(error, attempt, signal, breakers)) {
          this.emit('giveUp', error, attempt)
          throw error
        }
        if (this.#budget !== undefined && !this.#budget.tryRetry()) {
          this.emit('giveUp', error, attempt)
          throw new RetryBudgetExhaustedError(error, attempt)
        }
        delay =
          this.#jitter === 'decorrelated'
            ? decorrelatedJitter(delay, initial, max, this.#random)
            : backoffDelay(this.#backoff, attempt)
        this.emit('retry', error, attempt, delay)
        await sleep(delay, { signal, clock: this.#waitClock })
        // The breaker may have opened while we waited: then the retry would only be rejected.
        if (anyOpen(breakers)) {
          this.emit('giveUp', error, attempt)
          throw error
        }
      }
    }
  }

  #shouldRetry(
    error: unknown,
    attempt: number,
    signal: AbortSignal | undefined,
    breakers: readonly GuardingBreaker[],
  ): boolean {
    if (attempt >= this.attempts || signal?.aborted || isBrokenCircuitError(error)) return false
    if (NEVER_RETRIED.some((code) => isBulwarkError(error, code))) return false
    return !anyOpen(breakers) && this.#isRetryable(error, attempt)
  }
}

function anyOpen(breakers: readonly GuardingBreaker[]): boolean {
  for (const breaker of breakers) {
    const state = breaker.state
    if (state === 'open' || state === 'forced_open') return true
  }
  return false
}

/**
 * Creates a retry policy: exponential backoff with decorrelated jitter, a retryable predicate, an optional
 * retry budget, and no retries into an open breaker.
 *
 * @example
 * ```ts
 * const resilient = wrap(retry({ attempts: 4, backoff: { initial: '200ms' }, budget: { ratio: 0.1 } }), circuitBreaker())
 * const order = await resilient.execute(({ signal, attempt }) => api.getOrder(id, { signal, attempt }))
 * ```
 */
export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options)
}
