import { describe, expect, it } from 'vitest'
import { boom, deferred, ok } from '../../test/support/breaker.js'
import { isBulwarkError } from '../core/errors.js'
import type { FakeClock } from '../testing/index.js'
import { fakeClock } from '../testing/index.js'
import { type CircuitBreaker, circuitBreaker } from './index.js'

/** Runs `n` successful calls taking `ms` each on the fake clock. */
async function calls(breaker: CircuitBreaker, clock: FakeClock, n: number, ms: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const gate = deferred()
    const call = breaker.execute(() => gate.promise)
    clock.advance(ms)
    gate.resolve()
    await call
  }
}

describe('adaptive slow-call threshold', () => {
  it('keeps slowCallDuration until minSamples, then uses multiplier x observed p99 (within the histogram error)', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({
      clock,
      slowCallDuration: '10s',
      adaptiveSlowCall: { multiplier: 2, floor: 1, ceiling: '1m', minSamples: 100 },
    })
    await calls(breaker, clock, 90, 50)
    expect(breaker.metrics().slowCallDuration).toBe(10_000)
    await calls(breaker, clock, 30, 50)
    const learned = breaker.metrics().slowCallDuration
    expect(learned).toBeGreaterThanOrEqual(100)
    expect(learned).toBeLessThanOrEqual(100 * 2 ** 0.25)
  })

  it('then counts calls above the learned threshold as slow, and trips on them', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({
      clock,
      minimumCalls: 10,
      window: { type: 'count', size: 10 },
      slowCallRateThreshold: 0.5,
      adaptiveSlowCall: { multiplier: 3, floor: 1, minSamples: 50 },
    })
    await calls(breaker, clock, 64, 20)
    expect(breaker.metrics().slowCalls).toBe(0)
    const threshold = breaker.metrics().slowCallDuration as number
    expect(threshold).toBeLessThan(80)
    // A hung dependency: calls now take 10x longer than usual and are counted slow before they finish.
    const hung = deferred()
    for (let i = 0; i < 5; i++) void breaker.execute(() => hung.promise).catch(() => {})
    clock.advance(threshold + 1)
    expect(breaker.state).toBe('open')
    hung.resolve()
  })

  it('is clamped between floor and ceiling', async () => {
    const clock = fakeClock()
    const fast = circuitBreaker({ clock, minimumCalls: 1000, adaptiveSlowCall: { floor: '200ms', minSamples: 10 } })
    await calls(fast, clock, 40, 1)
    expect(fast.metrics().slowCallDuration).toBe(200)
    const slow = circuitBreaker({ clock, minimumCalls: 1000, adaptiveSlowCall: { ceiling: '1s', minSamples: 10 } })
    await calls(slow, clock, 40, 5_000)
    expect(slow.metrics().slowCallDuration).toBe(1_000)
  })

  it('follows a shift in latency thanks to decay', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({
      clock,
      adaptiveSlowCall: { multiplier: 1, floor: 1, minSamples: 10, halfLife: 100 },
    })
    await calls(breaker, clock, 300, 10)
    expect(breaker.metrics().slowCallDuration).toBeLessThan(15)
    await calls(breaker, clock, 600, 100)
    expect(breaker.metrics().slowCallDuration).toBeGreaterThanOrEqual(100)
  })
})

describe('SRE adaptive throttling', () => {
  it('never rejects while the dependency accepts everything', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), throttling: { random: () => 0 } })
    for (let i = 0; i < 50; i++) await breaker.execute(ok)
    expect(breaker.metrics().throttleProbability).toBe(0)
  })

  it('rejects with probability max(0, (requests - K*accepts) / (requests + 1))', async () => {
    const clock = fakeClock()
    let draw = 0.999
    const breaker = circuitBreaker({
      clock,
      minimumCalls: 1000,
      throttling: { k: 2, random: () => draw },
    })
    for (let i = 0; i < 6; i++) await breaker.execute(ok)
    for (let i = 0; i < 14; i++) await breaker.execute(boom).catch(() => {})
    // requests 20, accepts 6: (20 - 12) / 21
    expect(breaker.metrics().throttleProbability).toBeCloseTo(8 / 21, 10)
    draw = 8 / 21 - 0.001
    const rejected = await breaker.execute(ok).catch((e: unknown) => e)
    expect(isBulwarkError(rejected, 'E_THROTTLED')).toBe(true)
    // The throttled request counts as a request not accepted: (21 - 12) / 22.
    expect(breaker.metrics().throttleProbability).toBeCloseTo(9 / 22, 10)
    expect(breaker.metrics().totals.throttled).toBe(1)
    draw = 9 / 22 + 0.001
    expect(await breaker.execute(ok)).toBe('ok')
  })

  it("'instead-of-open' never opens on failures but throttles; slow calls still open it", async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({
      clock,
      minimumCalls: 5,
      slowCallDuration: 100,
      throttling: { mode: 'instead-of-open', random: () => 0.5 },
    })
    const outcomes = new Set<string>()
    for (let i = 0; i < 40; i++)
      await breaker.execute(boom).catch((e: { code?: string }) => outcomes.add(e.code ?? 'boom'))
    expect(breaker.state).toBe('closed')
    expect([...outcomes].sort()).toEqual(['E_THROTTLED', 'boom'])
    const slow = circuitBreaker({
      clock,
      minimumCalls: 2,
      slowCallDuration: 100,
      throttling: { mode: 'instead-of-open' },
    })
    await calls(slow, clock, 2, 200)
    expect(slow.state).toBe('open')
  })

  it("'before-open' throttles and still opens at the failure threshold; the window ages out", async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({
      clock,
      minimumCalls: 10,
      failureRateThreshold: 0.9,
      throttling: { window: '10s', random: () => 0.99 },
    })
    for (let i = 0; i < 10; i++) await breaker.execute(boom).catch(() => {})
    expect(breaker.state).toBe('open')
    breaker.reset()
    expect(breaker.metrics().throttleProbability).toBe(0)
    const other = circuitBreaker({ clock, minimumCalls: 1000, throttling: { window: '10s', random: () => 0.99 } })
    for (let i = 0; i < 10; i++) await other.execute(boom).catch(() => {})
    expect(other.metrics().throttleProbability).toBeGreaterThan(0.9)
    clock.advance(11_000)
    expect(other.metrics().throttleProbability).toBe(0)
  })
})
