/**
 * Two installed copies of Bulwark (an app and a library each with its own) must compose: `wrap` of one
 * copy guards a `retry` of the other with the breakers of either. `vi.resetModules()` makes the second
 * import evaluate every breaker module again, so its classes are as foreign to the first as another
 * installed copy's would be.
 */
import { describe, expect, it, vi } from 'vitest'
import { fakeClock } from '../testing/index.js'
import * as ours from './index.js'

vi.resetModules()
const theirs = (await import('./index.js')) as typeof ours

const settle = (p: Promise<unknown>) =>
  p.then(
    (v) => ({ value: v }),
    (e: unknown) => ({ error: e }),
  )

/** Runs a call that always fails with 'down' through `policy`, giving its retries a minute of fake time. */
async function run(policy: ours.Policy<unknown>, clock: ReturnType<typeof fakeClock>) {
  let calls = 0
  const call = settle(
    policy.execute(() => {
      calls++
      throw new Error('down')
    }),
  )
  await clock.advanceAsync(60_000)
  return { error: ((await call) as { error: Error }).error, calls }
}

describe('wrap across two installed copies', () => {
  it('the second import is another copy', () => {
    expect(theirs.RetryPolicy).not.toBe(ours.RetryPolicy)
    expect(theirs.CircuitBreaker).not.toBe(ours.CircuitBreaker)
  })

  it("never retries into a breaker the failure opened, with the other copy's retry", async () => {
    const clock = fakeClock(0)
    const breaker = ours.circuitBreaker({ clock, minimumCalls: 2 })
    const { error, calls } = await run(ours.wrap(theirs.retry({ attempts: 10, clock }), breaker), clock)
    expect(error.message).toBe('down')
    expect(calls).toBe(2)
    expect(breaker.metrics().totals.rejections).toBe(0)
  })

  it("never retries into the other copy's breaker, nor one inside the other copy's wrap", async () => {
    for (const inner of ['breaker', 'wrap'] as const) {
      const clock = fakeClock(0)
      const breaker = theirs.circuitBreaker({ clock, minimumCalls: 2 })
      const guarded = inner === 'breaker' ? breaker : theirs.wrap(theirs.timeout('1h', { clock }), breaker)
      const { error, calls } = await run(ours.wrap(ours.retry({ attempts: 10, clock }), guarded), clock)
      expect(error.message).toBe('down')
      expect(calls).toBe(2)
      expect(breaker.metrics().totals.rejections).toBe(0)
    }
  })
})
