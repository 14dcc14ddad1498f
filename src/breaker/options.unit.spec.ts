import { describe, expect, it } from 'vitest'
import { isBulwarkError, type ValidationError } from '../core/errors.js'
import { fakeClock } from '../testing/index.js'
import { bulkhead, type CircuitBreakerOptions, circuitBreaker, fallback, retry, retryBudget, timeout } from './index.js'

function expectInvalid(make: () => unknown, name: string, message?: string): void {
  let thrown: unknown
  try {
    make()
  } catch (e) {
    thrown = e
  }
  expect(isBulwarkError(thrown, 'E_INVALID_OPTION'), `expected a validation error for ${name}`).toBe(true)
  expect((thrown as ValidationError).context.name).toBe(name)
  if (message) expect((thrown as Error).message).toBe(message)
}

function snapshot(overrides: Record<string, unknown>): Record<string, unknown> {
  const base = { version: 1, state: 'closed', since: 0, openUntil: null, consecutiveOpens: 0, slowCallDuration: 1 }
  return { ...base, window: { type: 'count', outcomes: [] }, ...overrides }
}

describe('circuitBreaker options', () => {
  const bad: [string, Record<string, unknown>, string?][] = [
    [
      'failureRateThreshold',
      { failureRateThreshold: 1.5 },
      'Expected `failureRateThreshold` to be a number in (0, 1], got 1.5',
    ],
    ['failureRateThreshold', { failureRateThreshold: 0 }],
    ['failureRateThreshold', { failureRateThreshold: true }],
    ['failureCount', { failureCount: 3 }],
    [
      'failureCount.threshold',
      { failureCount: { threshold: 0, within: '30s' } },
      'Expected `failureCount.threshold` to be an integer in [1, 1048576], got 0',
    ],
    ['failureCount.threshold', { failureCount: { threshold: 2.5, within: '30s' } }],
    ['failureCount.threshold', { failureCount: { within: '30s' } }],
    ['failureCount.within', { failureCount: { threshold: 3 } }],
    ['failureCount.within', { failureCount: { threshold: 3, within: 0 } }],
    ['failureCount.within', { failureCount: { threshold: 3, within: 'a while' } }],
    ['consecutiveFailures', { consecutiveFailures: 0 }],
    ['consecutiveFailures', { consecutiveFailures: '5' }],
    ['slowCallRateThreshold', { slowCallRateThreshold: -0.1 }],
    ['slowCallDuration', { slowCallDuration: 'soon' }],
    ['minimumCalls', { minimumCalls: 0 }],
    ['minimumCalls', { minimumCalls: 2.5 }],
    ['window', { window: 'count' }],
    ['window.type', { window: { type: 'sliding' } }],
    ['window.size', { window: { type: 'count', size: 0 } }],
    ['window.duration', { window: { type: 'time', duration: 0 } }],
    ['window.duration', { window: { type: 'time', duration: '10 parsecs' } }],
    ['window.buckets', { window: { type: 'time', buckets: 1.5 } }],
    ['openDuration', { openDuration: -1 }],
    ['openDuration.initial', { openDuration: { initial: 'x' } }],
    ['openDuration.max', { openDuration: { initial: '10s', max: '1s' } }],
    ['openDuration.multiplier', { openDuration: { initial: '1s', multiplier: 0.5 } }],
    ['halfOpen', { halfOpen: 3 }],
    ['halfOpen.permittedCalls', { halfOpen: { permittedCalls: 0 } }],
    ['halfOpen.deadline', { halfOpen: { deadline: 'never' } }],
    ['isFailure', { isFailure: true }],
    ['isResultFailure', { isResultFailure: 'yes' }],
    ['adaptiveSlowCall', { adaptiveSlowCall: 1 }],
    ['adaptiveSlowCall.multiplier', { adaptiveSlowCall: { multiplier: 0.5 } }],
    ['adaptiveSlowCall.percentile', { adaptiveSlowCall: { percentile: 1 } }],
    ['adaptiveSlowCall.floor', { adaptiveSlowCall: { floor: 'low' } }],
    ['adaptiveSlowCall.ceiling', { adaptiveSlowCall: { floor: '1s', ceiling: '10ms' } }],
    ['adaptiveSlowCall.minSamples', { adaptiveSlowCall: { minSamples: 0 } }],
    ['adaptiveSlowCall.halfLife', { adaptiveSlowCall: { halfLife: 1 } }],
    ['throttling', { throttling: 'on' }],
    ['throttling.k', { throttling: { k: 0.5 } }],
    ['throttling.window', { throttling: { window: 0 } }],
    ['throttling.buckets', { throttling: { buckets: 0 } }],
    ['throttling.mode', { throttling: { mode: 'always' } }],
    ['throttling.random', { throttling: { random: 4 } }],
    ['maxTrackedCalls', { maxTrackedCalls: 0 }],
    ['name', { name: '' }],
    ['clock', { clock: { now: 1 } }],
    ['initialState', { initialState: { version: 2 } }],
    ['initialState.openUntil', { initialState: snapshot({ state: 'open', consecutiveOpens: 1 }) }],
    ['initialState.window', { initialState: snapshot({ window: { type: 'time', epoch: 0, buckets: [] } }) }],
    [
      'initialState.window',
      {
        window: { type: 'count', size: 2 },
        initialState: snapshot({ window: { type: 'count', outcomes: [0, 1, 0] } }),
      },
    ],
    ['initialState', { initialState: snapshot({ counts: 5 }) }],
    [
      'initialState.counts',
      { consecutiveFailures: 3, initialState: snapshot({ counts: { consecutiveFailures: -1, failureTimes: [] } }) },
    ],
    [
      'initialState.counts',
      {
        failureCount: { threshold: 2, within: '1s' },
        initialState: snapshot({ counts: { consecutiveFailures: 0, failureTimes: ['x'] } }),
      },
    ],
  ]
  it.each(bad)('rejects a bad %s with a typed error naming it', (name, options, message) => {
    expectInvalid(() => circuitBreaker({ clock: fakeClock(), ...options } as CircuitBreakerOptions), name, message)
  })

  it('rejects an options argument that is not an object', () => {
    expectInvalid(() => circuitBreaker(42 as unknown as CircuitBreakerOptions), 'options')
  })

  it('rejects a function openDuration that returns garbage, when it is used', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), minimumCalls: 1, openDuration: () => Number.NaN })
    await expect(
      breaker.execute(() => {
        throw new Error('x')
      }),
    ).rejects.toSatisfy((e) => isBulwarkError(e, 'E_INVALID_OPTION'))
  })
})

describe('policy options', () => {
  it.each([
    ['attempts', () => retry({ attempts: 0 })],
    ['backoff.initial', () => retry({ backoff: { initial: 'x' as never } })],
    ['backoff.max', () => retry({ backoff: { initial: '1s', max: '10ms' } })],
    ['backoff.multiplier', () => retry({ backoff: { multiplier: 0.5 }, jitter: 'none' })],
    ['backoff.multiplier', () => retry({ backoff: { multiplier: 2 } })],
    ['backoff.initialDelay', () => retry({ backoff: { initialDelay: '1s' } as never })],
    ['jitter', () => retry({ jitter: 'full' as never })],
    ['isRetryable', () => retry({ isRetryable: 1 as never })],
    ['breakers', () => retry({ breakers: {} as never })],
    ['random', () => retry({ random: 1 as never })],
    ['ratio', () => retryBudget({ ratio: -1 })],
    ['minRetriesPerSecond', () => retryBudget({ minRetriesPerSecond: -1 })],
    ['window', () => retryBudget({ window: 0 })],
    ['ratio', () => retry({ budget: { ratio: -1 } })],
    ['duration', () => timeout('forever' as never)],
    ['duration', () => timeout({ duration: -5 })],
    ['maxConcurrent', () => bulkhead({ maxConcurrent: 0 })],
    ['maxConcurrent', () => bulkhead({} as never)],
    ['maxQueue', () => bulkhead({ maxConcurrent: 1, maxQueue: -1 })],
    ['when', () => fallback(1, { when: 'x' as never })],
  ] as const)('%s', (name, make) => {
    expectInvalid(make, name)
  })
})
