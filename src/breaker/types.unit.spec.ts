/** Type tests of the public API: what callers get back, and what each policy can be assigned to. */
import { describe, expectTypeOf, it } from 'vitest'
import type { Duration } from '../core/duration.js'
import {
  type BreakerMetrics,
  bulkhead,
  type CircuitBreakerOptions,
  type CircuitState,
  type CountTripsSnapshot,
  circuitBreaker,
  type FailureCountOptions,
  fallback,
  type Outcome,
  type Policy,
  type PolicyContext,
  retry,
  timeout,
  wrap,
} from './index.js'

describe('public types', () => {
  it('every policy is a Policy, and a fallback widens the result type', () => {
    expectTypeOf(circuitBreaker()).toMatchTypeOf<Policy>()
    expectTypeOf(retry()).toMatchTypeOf<Policy>()
    expectTypeOf(timeout(10)).toMatchTypeOf<Policy>()
    expectTypeOf(bulkhead({ maxConcurrent: 1 })).toMatchTypeOf<Policy>()
    expectTypeOf(fallback('x' as const)).toMatchTypeOf<Policy<'x'>>()
    const plain = wrap(retry(), circuitBreaker(), timeout(10))
    expectTypeOf(plain.execute(() => 1)).toEqualTypeOf<Promise<number>>()
    const withFallback = wrap(fallback(null), retry(), circuitBreaker())
    expectTypeOf(withFallback.execute(async () => 'v')).toEqualTypeOf<Promise<string | null>>()
    expectTypeOf(wrap(wrap(fallback(0)), circuitBreaker()).execute(() => 'v')).toEqualTypeOf<Promise<string | number>>()
  })

  it('functions receive a context with a signal and the attempt number', () => {
    circuitBreaker().execute((context) => {
      expectTypeOf(context).toEqualTypeOf<PolicyContext>()
      expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>()
      expectTypeOf(context.attempt).toEqualTypeOf<number>()
    })
  })

  it('state, metrics, outcomes and events are typed', () => {
    const breaker = circuitBreaker()
    expectTypeOf(breaker.state).toEqualTypeOf<CircuitState>()
    expectTypeOf(breaker.metrics()).toEqualTypeOf<BreakerMetrics>()
    expectTypeOf(breaker.tryExecute(() => 1)).toEqualTypeOf<Promise<Outcome<number>>>()
    breaker.on('stateChange', (from, to) => {
      expectTypeOf(from).toEqualTypeOf<CircuitState>()
      expectTypeOf(to).toEqualTypeOf<CircuitState>()
    })
    breaker.on('slowCall', (ms, stillRunning) => {
      expectTypeOf(ms).toEqualTypeOf<number>()
      expectTypeOf(stillRunning).toEqualTypeOf<boolean>()
    })
  })

  it('count trips take a count and a Duration; failureRateThreshold takes false; snapshots carry the counts', () => {
    expectTypeOf<CircuitBreakerOptions['failureCount']>().toEqualTypeOf<FailureCountOptions | undefined>()
    expectTypeOf<FailureCountOptions>().toEqualTypeOf<{ threshold: number; within: Duration }>()
    expectTypeOf<CircuitBreakerOptions['consecutiveFailures']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<CircuitBreakerOptions['failureRateThreshold']>().toEqualTypeOf<number | false | undefined>()
    expectTypeOf(circuitBreaker().toJSON().counts).toEqualTypeOf<CountTripsSnapshot | undefined>()
    // @ts-expect-error a failure count needs its window
    const missingWithin = () => circuitBreaker({ failureCount: { threshold: 3 } })
    expectTypeOf(missingWithin).toBeFunction()
  })
})
