import { describe, expect, it } from 'vitest'
import { fakeClock } from '../testing/index.js'
import { circuitBreaker } from './index.js'

// `admit()` is the closed path without a promise: the caller runs the call and reports its end. It must
// count exactly as `execute` would, and hand every other state back to `execute`.
describe.each([
  ['untimed', {}],
  ['timed', { slowCallDuration: 100 }],
] as const)('circuitBreaker.admit: %s', (_, options) => {
  it('counts reported successes and failures as execute does, and opens on them', () => {
    const breaker = circuitBreaker({ ...options, clock: fakeClock(), minimumCalls: 4, failureRateThreshold: 0.5 })
    breaker.admit()?.succeeded(1)
    breaker.admit()?.succeeded(2)
    breaker.admit()?.failed(new Error('a'))
    expect(breaker.state).toBe('closed')
    breaker.admit()?.failed(new Error('b'))
    expect(breaker.state).toBe('open')
    expect(breaker.metrics().totals).toMatchObject({ successes: 2, failures: 2 })
    expect(breaker.metrics().inFlight).toBe(0)
  })

  it('counts a permit once, whichever report comes first', () => {
    const breaker = circuitBreaker({ ...options, clock: fakeClock() })
    const permit = breaker.admit()
    expect(breaker.metrics().inFlight).toBe(1)
    permit?.failed(new Error('timed out'))
    permit?.succeeded('late answer')
    permit?.failed(new Error('again'))
    expect(breaker.metrics()).toMatchObject({ calls: 1, failures: 1, inFlight: 0 })
    expect(breaker.metrics().totals.successes).toBe(0)
  })

  it('leaves every state but CLOSED to execute', () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ ...options, clock, minimumCalls: 1, openDuration: 1_000 })
    breaker.admit()?.failed(new Error('down'))
    expect(breaker.state).toBe('open')
    expect(breaker.admit()).toBeUndefined()
    clock.advance(1_000)
    expect(breaker.state).toBe('half_open')
    expect(breaker.admit()).toBeUndefined()
    breaker.isolate()
    expect(breaker.admit()).toBeUndefined()
    breaker.disable()
    expect(breaker.admit()).toBeUndefined()
    breaker.reset()
    expect(breaker.admit()).toBeDefined()
  })

  it('leaves a throttling breaker to execute (it decides call by call)', () => {
    const breaker = circuitBreaker({ ...options, clock: fakeClock(), throttling: { mode: 'instead-of-open' } })
    expect(breaker.admit()).toBeUndefined()
  })

  it('applies isFailure and isResultFailure to what is reported', () => {
    const breaker = circuitBreaker({
      ...options,
      clock: fakeClock(),
      isFailure: (error) => (error as Error).message !== 'not found',
      isResultFailure: (value) => value === 'error page',
    })
    breaker.admit()?.failed(new Error('not found'))
    breaker.admit()?.succeeded('error page')
    expect(breaker.metrics()).toMatchObject({ calls: 2, failures: 1 })
  })

  it('lets a permit taken before a reset decide nothing after it', () => {
    const breaker = circuitBreaker({ ...options, clock: fakeClock(), minimumCalls: 1 })
    const permit = breaker.admit()
    breaker.reset()
    permit?.failed(new Error('late'))
    expect(breaker.state).toBe('closed')
    expect(breaker.metrics().calls).toBe(0)
    expect(breaker.metrics().totals.failures).toBe(1)
  })
})

describe('circuitBreaker.admit with slow-call detection', () => {
  it('counts a permitted call that has not reported as slow once it runs past slowCallDuration', () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, slowCallDuration: 100, slowCallRateThreshold: 1, minimumCalls: 2 })
    const hung = [breaker.admit(), breaker.admit()]
    clock.advance(101)
    expect(breaker.state).toBe('open') // both still running, both slow: no report needed
    for (const permit of hung) permit?.failed(new Error('timed out')) // counted already: decides nothing more
    expect(breaker.metrics().totals).toMatchObject({ slowCalls: 2 })
  })

  it('times a call from admission to its report', () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, slowCallDuration: 100, slowCallRateThreshold: 1, minimumCalls: 1 })
    const permit = breaker.admit()
    clock.advance(150)
    permit?.succeeded()
    expect(breaker.metrics().totals.slowCalls).toBe(1)
    expect(breaker.state).toBe('open')
  })
})
