import { describe, expect, it } from 'vitest'
import { boom, deferred, ok } from '../../test/support/breaker.js'
import { fakeClock } from '../testing/index.js'
import { circuitBreaker } from './index.js'

const settle = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code ?? 'error',
  )

describe('failureCount: "N failures within T"', () => {
  it('opens on the 3rd failure within 30 s among hundreds of successes, which the rate never would', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, failureCount: { threshold: 3, within: '30s' }, openDuration: '60s' })
    for (let i = 0; i < 500; i++) await breaker.execute(ok)
    await settle(breaker.execute(boom))
    clock.advance(10_000)
    for (let i = 0; i < 500; i++) await breaker.execute(ok)
    await settle(breaker.execute(boom))
    clock.advance(19_999)
    expect(breaker.state).toBe('closed')
    await settle(breaker.execute(boom)) // 29.999 s after the first
    expect(breaker.state).toBe('open')
    clock.advance(59_999)
    expect(await settle(breaker.execute(ok))).toBe('E_CIRCUIT_OPEN')
    clock.advance(1)
    expect(breaker.state).toBe('half_open')
  })

  it('does not open when the failures are spread wider than `within`', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, failureCount: { threshold: 3, within: '30s' } })
    for (let i = 0; i < 10; i++) {
      await settle(breaker.execute(boom))
      clock.advance(15_000) // every 3 consecutive failures span exactly 30 s: not within
      for (let j = 0; j < 10; j++) await breaker.execute(ok)
    }
    expect(breaker.state).toBe('closed')
    expect(breaker.metrics().totals.failures).toBe(10)
  })

  it('counts failures only: slow calls, ignored errors and aborted calls do not count', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({
      clock,
      failureCount: { threshold: 2, within: '1m' },
      slowCallDuration: 10,
      isFailure: (e) => (e as Error).message !== 'not found',
    })
    const slow = deferred<string>()
    const call = breaker.execute(() => slow.promise)
    clock.advance(20)
    expect(breaker.metrics().slowCalls).toBe(1)
    slow.resolve('late')
    await call
    await settle(breaker.execute(() => Promise.reject(new Error('not found'))))
    const controller = new AbortController()
    const aborted = breaker.execute(
      ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      controller.signal,
    )
    controller.abort()
    await settle(aborted)
    await settle(breaker.execute(boom))
    expect(breaker.state).toBe('closed')
    await settle(breaker.execute(boom))
    expect(breaker.state).toBe('open')
  })

  it('counts a call that failed after the in-flight sweep counted it slow', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, failureCount: { threshold: 1, within: '1s' }, slowCallDuration: 10 })
    const hung = deferred<string>()
    const call = settle(breaker.execute(() => hung.promise))
    clock.advance(11)
    expect(breaker.metrics().slowCalls).toBe(1)
    hung.reject(new Error('late failure'))
    await call
    expect(breaker.state).toBe('open')
  })
})

describe('consecutiveFailures: "N failures in a row"', () => {
  it('opens on the 5th failure in a row; a success resets the count', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), consecutiveFailures: 5, minimumCalls: 1000 })
    for (let i = 0; i < 4; i++) await settle(breaker.execute(boom))
    await breaker.execute(ok)
    for (let i = 0; i < 4; i++) await settle(breaker.execute(boom))
    expect(breaker.state).toBe('closed')
    await settle(breaker.execute(boom))
    expect(breaker.state).toBe('open')
  })

  it('counts synchronous throws, with and without a signal', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), consecutiveFailures: 2 })
    await settle(breaker.execute(boom))
    await settle(breaker.execute(boom, new AbortController().signal))
    expect(breaker.state).toBe('open')
  })

  it('starts again from zero after the circuit closes; a failed probe reopens at once', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({
      clock,
      consecutiveFailures: 2,
      openDuration: 100,
      halfOpen: { permittedCalls: 1 },
    })
    await settle(breaker.execute(boom))
    await settle(breaker.execute(boom))
    clock.advance(100)
    await settle(breaker.execute(boom)) // the probe fails
    expect(breaker.state).toBe('open')
    clock.advance(100)
    await breaker.execute(ok)
    expect(breaker.state).toBe('closed')
    await settle(breaker.execute(boom))
    expect(breaker.state).toBe('closed')
  })
})

describe('count trips with the rates', () => {
  it('any trip opens: the rate still applies with its defaults', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), consecutiveFailures: 100 })
    for (const fn of [boom, ok, boom, ok, boom, ok, boom, ok, boom, ok]) await settle(breaker.execute(fn))
    expect(breaker.state).toBe('open') // 5/10 >= 0.5 after minimumCalls 10
  })

  it('failureRateThreshold: false leaves the counts alone to decide', async () => {
    const breaker = circuitBreaker({
      clock: fakeClock(),
      failureRateThreshold: false,
      minimumCalls: 1,
      consecutiveFailures: 3,
    })
    for (let i = 0; i < 50; i++) {
      await settle(breaker.execute(boom))
      await settle(breaker.execute(boom))
      await breaker.execute(ok)
    }
    expect(breaker.state).toBe('closed')
    expect(breaker.metrics().failureRate).toBeGreaterThan(0.6)
  })

  it('toJSON carries the counts and initialState restores them', async () => {
    const clock = fakeClock(0)
    const options = { clock, failureCount: { threshold: 3, within: '30s' as const }, consecutiveFailures: 3 }
    const breaker = circuitBreaker(options)
    await settle(breaker.execute(boom))
    clock.advance(1000)
    await settle(breaker.execute(boom))
    const saved = JSON.parse(JSON.stringify(breaker))
    expect(saved.counts).toEqual({ consecutiveFailures: 2, failureTimes: [0, 1000] })

    const byStreak = circuitBreaker({ ...options, failureCount: undefined, initialState: saved })
    await settle(byStreak.execute(boom))
    expect(byStreak.state).toBe('open')

    clock.advance(28_999)
    const byCount = circuitBreaker({ ...options, consecutiveFailures: undefined, initialState: saved })
    await settle(byCount.execute(boom))
    expect(byCount.state).toBe('open')
    expect(byCount.toJSON().counts).toEqual({ consecutiveFailures: 3, failureTimes: [0, 1000, 29_999] })

    expect(circuitBreaker({ clock }).toJSON()).not.toHaveProperty('counts')
  })

  it('restores only the latest failure times that fit a smaller threshold', async () => {
    const clock = fakeClock(10_000)
    const saved = {
      ...circuitBreaker({ clock }).toJSON(),
      counts: { consecutiveFailures: 0, failureTimes: [0, 9_000, 9_500] },
    }
    const breaker = circuitBreaker({ clock, failureCount: { threshold: 2, within: '1s' }, initialState: saved })
    expect(breaker.toJSON().counts?.failureTimes).toEqual([9_000, 9_500])
    await settle(breaker.execute(boom))
    expect(breaker.state).toBe('open') // 9.5 s and 10 s are within 1 s
  })
})
