import { BulwarkError, isBulwarkError } from '../core/errors.js'

/** Options of a breaker's rejections ({@link BrokenCircuitError}, {@link IsolatedCircuitError}, {@link ThrottledError}). */
export interface RejectionErrorOptions {
  /** What a caller needs to act on it: the breaker's `name`, `openUntil`... @default {} */
  context?: Record<string, unknown>
}

/** Options of {@link BrokenCircuitError}. */
export interface BrokenCircuitErrorOptions extends RejectionErrorOptions {
  /** @default 'The circuit is open; the call was not attempted' */
  message?: string
  /** `E_CIRCUIT_ISOLATED` for {@link IsolatedCircuitError}. @default 'E_CIRCUIT_OPEN' */
  code?: 'E_CIRCUIT_OPEN' | 'E_CIRCUIT_ISOLATED'
}

/**
 * Thrown instead of calling the function while a breaker is open. It carries no stack: the rejection is
 * the hot path of an open circuit, and the stack would say nothing useful. One instance is made per open
 * period and reused for every rejection in it, so a flood of rejected calls allocates nothing.
 *
 * @example
 * ```ts
 * new BrokenCircuitError({ context: { name: 'payments', openUntil } })
 * ```
 */
export class BrokenCircuitError extends BulwarkError {
  constructor(options: BrokenCircuitErrorOptions = {}) {
    super(options.code ?? 'E_CIRCUIT_OPEN', options.message ?? 'The circuit is open; the call was not attempted', {
      context: options.context ?? {},
      noStack: true,
    })
  }
}

/** Thrown while a breaker is forced open with `isolate()`. A {@link BrokenCircuitError} too. */
export class IsolatedCircuitError extends BrokenCircuitError {
  constructor(options: RejectionErrorOptions = {}) {
    super({
      message: 'The circuit is isolated (forced open); the call was not attempted',
      context: options.context,
      code: 'E_CIRCUIT_ISOLATED',
    })
  }
}

/** Thrown when adaptive throttling rejects a call locally (code `E_THROTTLED`). No stack, like a broken circuit. */
export class ThrottledError extends BulwarkError {
  constructor(options: RejectionErrorOptions = {}) {
    super('E_THROTTLED', 'The call was throttled: the dependency is rejecting too many requests', {
      context: options.context ?? {},
      noStack: true,
    })
  }
}

/** Thrown by a bulkhead whose slots and queue are full (code `E_BULKHEAD_REJECTED`). */
export class BulkheadRejectedError extends BulwarkError {
  constructor(context: { maxConcurrent: number; maxQueue: number }) {
    super('E_BULKHEAD_REJECTED', 'The bulkhead is full: too many concurrent and queued calls', { context })
  }
}

/** Thrown by `retry` when the retry budget forbids another attempt; `cause` is the last failure. */
export class RetryBudgetExhaustedError extends BulwarkError {
  constructor(cause: unknown, attempts: number) {
    super('E_RETRY_BUDGET_EXHAUSTED', 'The retry budget is exhausted; the call was not retried', {
      cause,
      context: { attempts },
    })
  }
}

/**
 * Tells whether `error` is a rejection by an open or isolated breaker (`E_CIRCUIT_OPEN`, `E_CIRCUIT_ISOLATED`).
 * Checks the shape, so it works across two installed copies of Bulwark.
 *
 * @example
 * ```ts
 * try {
 *   return await breaker.execute(() => fetchPrices())
 * } catch (e) {
 *   if (isBrokenCircuitError(e)) return cachedPrices
 *   throw e
 * }
 * ```
 */
export function isBrokenCircuitError(error: unknown): error is BrokenCircuitError {
  return isBulwarkError(error, 'E_CIRCUIT_OPEN') || isBulwarkError(error, 'E_CIRCUIT_ISOLATED')
}
