import { type CircuitBreaker, circuitBreaker } from 'bulwark/breaker'
import type { BreakerRow, ExampleConfig } from './config.js'
import { HttpError } from './errors.js'

/**
 * A breaker for one row of the breaker table: opens on the N-th failure within T (a count, not a rate), or
 * when half of the calls of the slow-call window took longer than the slow-call threshold.
 */
export function breakerFor(config: ExampleConfig, row: BreakerRow, name: string = row): CircuitBreaker {
  const r = config.breakerTable[row]
  const slow = config.settings.slowCall
  return circuitBreaker({
    name,
    failureCount: r.failureCount,
    failureRateThreshold: false,
    openDuration: r.openDuration,
    slowCallDuration: config.slowCallDuration,
    slowCallRateThreshold: slow.rateThreshold,
    minimumCalls: slow.minimumCalls,
    window: { type: 'time', duration: slow.window },
    // A 4xx answer is the dependency working (a declined card, an unknown SKU): not a failure.
    isFailure: (error) => !(error instanceof HttpError && error.status < 500),
  })
}
