import { circuitBreaker } from '../breaker/index.js'
import type { L2Executor } from './l2.js'
import type { ResolvedOptions } from './options.js'

/**
 * The circuit breaker every L2 call of a cache goes through (shared by its namespaces). A timeout
 * counts as a failure, and a call still running past `slowCallDuration` counts as slow before it
 * ends, so a hung Redis opens the circuit without waiting for timeouts to pile up. While it is open,
 * L2 calls are refused at once and the cache serves from L1 and the loader.
 */
export function l2Breaker(options: ResolvedOptions): L2Executor | undefined {
  const b = options.breaker
  if (b === false || options.l2 === undefined) return undefined
  return circuitBreaker({
    name: `cache:${options.namespace}:l2`,
    failureRateThreshold: b.failureRateThreshold,
    slowCallRateThreshold: b.slowCallRateThreshold,
    slowCallDuration: b.slowCallDuration,
    minimumCalls: b.minimumCalls,
    window: { type: 'count', size: b.windowSize },
    openDuration: b.openDuration,
    clock: options.clock,
  })
}
