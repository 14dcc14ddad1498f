export type { AdaptiveSlowCallOptions } from './adaptive.js'
export { CircuitBreaker, circuitBreaker } from './breaker.js'
export type { RetryBudgetOptions } from './budget.js'
export { RetryBudget, retryBudget } from './budget.js'
export type { BulkheadOptions } from './bulkhead.js'
export { BulkheadPolicy, bulkhead } from './bulkhead.js'
export type { CountTripsSnapshot, FailureCountOptions } from './count-trips.js'
export type { PolicyMethodDecorator } from './decorators.js'
export { setDefaultBreakerRegistry, withBreaker, withPolicy, withRetry, withTimeout } from './decorators.js'
export type { BrokenCircuitErrorOptions, RejectionErrorOptions } from './errors.js'
export {
  BrokenCircuitError,
  BulkheadRejectedError,
  IsolatedCircuitError,
  isBrokenCircuitError,
  RetryBudgetExhaustedError,
  ThrottledError,
} from './errors.js'
export type { BreakerEvents, BreakerMetrics, FailureReason, RejectionReason } from './events.js'
export type { FallbackOptions } from './fallback.js'
export { FallbackPolicy, fallback } from './fallback.js'
export type { CircuitBreakerOptions, HalfOpenOptions, WindowOptions } from './options.js'
export type { CallPermit } from './permit.js'
export type { BreakerRegistryOptions, KeyedBreakersOptions, RegisteredBreaker } from './registry.js'
export { BreakerRegistry, createBreakerRegistry, KeyedBreakers } from './registry.js'
export type { RetryEvents, RetryOptions } from './retry.js'
export { RetryPolicy, retry } from './retry.js'
export type { BreakerSnapshot } from './snapshot.js'
export type { ThrottlingOptions } from './throttle.js'
export type { TimeoutOptions } from './timeout.js'
export { TimeoutPolicy, timeout } from './timeout.js'
export type { AltOf, CircuitState, Outcome, Policy, PolicyContext, PolicyFn } from './types.js'
export type { WindowSnapshot } from './window.js'
export { WrappedPolicy, wrap } from './wrap.js'
