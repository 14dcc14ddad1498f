/**
 * Slow-call detection with a threshold of 100 ms or more on the system clock times calls with the
 * millisecond coarse clock: the exact clock costs about 100 ns a read on some virtual machines, more than the
 * rest of the closed path. vitest's fake timers stand in for the system clock here (they replace `Date.now`
 * and `setTimeout`, which `systemClock` calls), so the coarse clock's 1 ms timer runs as it would for real.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { deferred } from '../../test/support/breaker.js'
import { circuitBreaker } from './index.js'

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] })
})
afterEach(() => {
  vi.useRealTimers()
})

const fast = async () => 1

async function exactReadsFor(calls: number, slowCallDuration: number | `${number}s`): Promise<number> {
  const breaker = circuitBreaker({ slowCallDuration })
  const reads = vi.spyOn(Date, 'now')
  for (let i = 0; i < calls; i++) await breaker.execute(fast)
  const n = reads.mock.calls.length
  reads.mockRestore()
  return n
}

describe('timed calls on the system clock', () => {
  it('read the exact clock once per 64 tick reads when the threshold is 100 ms or more', async () => {
    expect(await exactReadsFor(640, '2s')).toBeLessThanOrEqual(21) // 2 tick reads per call
    expect(await exactReadsFor(640, 100)).toBeLessThanOrEqual(21)
  })

  it('read it at both ends of every call below 100 ms, where a millisecond is more than 1 % of the threshold', async () => {
    expect(await exactReadsFor(100, 99)).toBeGreaterThanOrEqual(200)
  })

  it('still count a call running past the threshold as slow before it ends, and one that ended past it', async () => {
    const breaker = circuitBreaker({ slowCallDuration: '2s', minimumCalls: 2, slowCallRateThreshold: 1 })
    const elapsed: number[] = []
    breaker.on('success', (ms) => elapsed.push(ms))
    const hung = deferred<number>()
    const slow = deferred<number>()
    const hungCall = breaker.execute(() => hung.promise)
    vi.advanceTimersByTime(500)
    const slowCall = breaker.execute(() => slow.promise)
    vi.advanceTimersByTime(1_600)
    expect(breaker.metrics().slowCalls).toBe(1) // the first, 2.1 s in, still running
    expect(breaker.state).toBe('closed')
    vi.advanceTimersByTime(1_000)
    slow.resolve(2)
    await slowCall
    expect(elapsed).toEqual([2_600])
    expect(breaker.state).toBe('open') // 2 calls in the window, both slow
    hung.resolve(1)
    await hungCall
  })

  it('does not count a call under the threshold as slow', async () => {
    const breaker = circuitBreaker({ slowCallDuration: '2s', minimumCalls: 1 })
    const elapsed: number[] = []
    breaker.on('success', (ms) => elapsed.push(ms))
    const call = deferred<number>()
    const p = breaker.execute(() => call.promise)
    vi.advanceTimersByTime(1_999)
    call.resolve(1)
    await p
    expect(elapsed).toEqual([1_999])
    expect(breaker.metrics()).toMatchObject({ slowCalls: 0, state: 'closed' })
  })
})
