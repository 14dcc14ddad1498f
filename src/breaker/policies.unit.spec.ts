import { describe, expect, it } from 'vitest'
import { boom, deferred, flush, ok } from '../../test/support/breaker.js'
import { isBulwarkError } from '../core/errors.js'
import { fakeClock } from '../testing/index.js'
import { bulkhead, circuitBreaker, fallback, isBrokenCircuitError, retry, retryBudget, timeout, wrap } from './index.js'

const settle = (p: Promise<unknown>) =>
  p.then(
    (v) => ({ value: v }),
    (e: unknown) => ({ error: e }),
  )

describe('retry', () => {
  it('retries up to `attempts` in all, passing the attempt number, with decorrelated jitter', async () => {
    const clock = fakeClock(0)
    const policy = retry({ attempts: 4, backoff: { initial: 100, max: 1_000 }, clock, random: () => 1 })
    const delays: number[] = []
    policy.on('retry', (_e, _attempt, delay) => delays.push(delay))
    const attempts: number[] = []
    const call = settle(
      policy.execute(({ attempt }) => {
        attempts.push(attempt)
        throw new Error(`fail ${attempt}`)
      }),
    )
    await clock.advanceAsync(10_000)
    const { error } = (await call) as { error: Error }
    expect(error.message).toBe('fail 4')
    // Attempt 1 is the first call.
    expect(attempts).toEqual([1, 2, 3, 4])
    // random() = 1 takes the top of [initial, previous * 3]: 300, 900, then capped at 1000.
    expect(delays).toEqual([300, 900, 1_000])
  })

  it('draws each delay between backoff.initial and three times the previous one', async () => {
    const clock = fakeClock(0)
    const policy = retry({ attempts: 3, backoff: { initial: 100, max: 10_000 }, clock, random: () => 0 })
    const delays: number[] = []
    policy.on('retry', (_e, _a, delay) => delays.push(delay))
    const call = settle(policy.execute(boom))
    await clock.advanceAsync(1_000)
    await call
    expect(delays).toEqual([100, 100])
  })

  it('uses plain doubling with jitter: none, and stops at the first success', async () => {
    const clock = fakeClock(0)
    const policy = retry({ attempts: 5, backoff: { initial: 10 }, jitter: 'none', clock })
    const delays: number[] = []
    policy.on('retry', (_e, _a, delay) => delays.push(delay))
    let n = 0
    const call = policy.execute(() => (++n < 4 ? boom() : 'done'))
    await clock.advanceAsync(1_000)
    expect(await call).toBe('done')
    expect(delays).toEqual([10, 20, 40])
  })

  it('follows the backoff exactly with jitter: none: initial * multiplier^(n-1), capped at max', async () => {
    const clock = fakeClock(0)
    const policy = retry({ attempts: 5, backoff: { initial: 10, max: 200, multiplier: 3 }, jitter: 'none', clock })
    const seen: [number, number][] = []
    policy.on('retry', (_e, attempt, delay) => seen.push([attempt, delay]))
    const call = settle(policy.execute(boom))
    await clock.advanceAsync(1_000)
    await call
    // The attempt that failed, 1 for the first call, and the wait before the next.
    expect(seen).toEqual([
      [1, 10],
      [2, 30],
      [3, 90],
      [4, 200],
    ])
  })

  it('does not retry errors isRetryable rejects, aborts, or broken circuits', async () => {
    const clock = fakeClock(0)
    let calls = 0
    const policy = retry({ attempts: 5, clock, isRetryable: (e) => (e as Error).message !== 'fatal' })
    await expect(
      policy.execute(() => {
        calls++
        throw new Error('fatal')
      }),
    ).rejects.toThrow('fatal')
    expect(calls).toBe(1)
    const breaker = circuitBreaker({ clock })
    breaker.isolate()
    calls = 0
    await expect(
      policy.execute(() => {
        calls++
        return breaker.execute(ok)
      }),
    ).rejects.toSatisfy(isBrokenCircuitError)
    expect(calls).toBe(1)
  })

  it('in wrap, never retries into a breaker that the failure opened', async () => {
    const clock = fakeClock(0)
    const breaker = circuitBreaker({ clock, minimumCalls: 2 })
    let calls = 0
    const policy = wrap(retry({ attempts: 10, clock }), breaker)
    const call = settle(
      policy.execute(() => {
        calls++
        throw new Error('down')
      }),
    )
    await clock.advanceAsync(60_000)
    expect(((await call) as { error: Error }).error.message).toBe('down')
    expect(calls).toBe(2) // the second failure opened the breaker: no third call, not even a rejected one
    expect(breaker.metrics().totals.rejections).toBe(0)
  })

  it('stops when the retry budget is spent, with a typed error carrying the last failure', async () => {
    const clock = fakeClock(0)
    const budget = retryBudget({ ratio: 0.5, minRetriesPerSecond: 0, window: '10s', clock })
    const policy = retry({ attempts: 10, backoff: { initial: 1, max: 1 }, budget, clock })
    for (let i = 0; i < 4; i++) await policy.execute(ok)
    let attempts = 0
    const failing = () => {
      attempts++
      throw new Error('down')
    }
    let call = settle(policy.execute(failing))
    await clock.advanceAsync(100)
    const { error } = (await call) as { error: Error & { code: string } }
    // 5 calls in the window allow 2.5 retries: two are taken, the third is refused.
    expect(attempts).toBe(3)
    expect(error.code).toBe('E_RETRY_BUDGET_EXHAUSTED')
    expect((error.cause as Error).message).toBe('down')
    await clock.advanceAsync(20_000) // the window empties: one call alone earns no retry
    attempts = 0
    call = settle(policy.execute(failing))
    await clock.advanceAsync(100)
    await call
    expect(attempts).toBe(1)
  })

  it('the budget floor allows a few retries per second even without traffic', async () => {
    const clock = fakeClock(0)
    const policy = retry({
      attempts: 10,
      backoff: { initial: 1, max: 1 },
      clock,
      budget: { ratio: 0, minRetriesPerSecond: 0.2, window: '10s' },
    })
    let attempts = 0
    const call = settle(
      policy.execute(() => {
        attempts++
        throw new Error('down')
      }),
    )
    await clock.advanceAsync(100)
    await call
    expect(attempts).toBe(3) // 0.2/s over 10 s = 2 retries
  })

  it('stops sleeping when its signal aborts', async () => {
    const clock = fakeClock(0)
    const controller = new AbortController()
    const call = settle(retry({ attempts: 3, backoff: { initial: 1_000 }, clock }).execute(boom, controller.signal))
    await flush()
    controller.abort()
    expect(isBulwarkError(((await call) as { error: unknown }).error, 'E_ABORTED')).toBe(true)
  })
})

describe('timeout', () => {
  it('aborts the signal and releases the caller at the deadline, even if the function ignores it', async () => {
    const clock = fakeClock(0)
    let seen: AbortSignal | undefined
    const call = settle(
      timeout('2s', { clock }).execute(({ signal }) => {
        seen = signal
        return new Promise(() => {})
      }),
    )
    await clock.advanceAsync(1_999)
    expect(seen?.aborted).toBe(false)
    await clock.advanceAsync(1)
    const { error } = (await call) as { error: unknown }
    expect(isBulwarkError(error, 'E_TIMEOUT')).toBe(true)
    expect(seen?.aborted).toBe(true)
  })

  it('returns the result in time and leaves no timer behind; follows the caller signal', async () => {
    const clock = fakeClock(0)
    expect(await timeout({ duration: 100, clock }).execute(() => 'fast')).toBe('fast')
    expect(clock.pendingTimers()).toBe(0)
    const controller = new AbortController()
    let seen: AbortSignal | undefined
    const call = settle(
      timeout(100, { clock }).execute(({ signal }) => {
        seen = signal
        return new Promise(() => {})
      }, controller.signal),
    )
    controller.abort()
    expect(isBulwarkError(((await call) as { error: unknown }).error, 'E_ABORTED')).toBe(true)
    expect(seen?.aborted).toBe(true)
    expect(clock.pendingTimers()).toBe(0)
  })
})

describe('bulkhead', () => {
  it('runs maxConcurrent at once, queues maxQueue, rejects the rest at once with a typed error', async () => {
    const pool = bulkhead({ maxConcurrent: 2, maxQueue: 1 })
    const gates = [deferred(), deferred(), deferred()]
    let running = 0
    let peak = 0
    const run = (i: number) =>
      pool.execute(async () => {
        running++
        peak = Math.max(peak, running)
        await gates[i]!.promise
        running--
        return i
      })
    const calls = [run(0), run(1), run(2)]
    await flush()
    expect([pool.active, pool.queued]).toEqual([2, 1])
    const rejected = await settle(pool.execute(ok))
    expect(isBulwarkError((rejected as { error: unknown }).error, 'E_BULKHEAD_REJECTED')).toBe(true)
    gates[0]!.resolve()
    await flush()
    expect([pool.active, pool.queued]).toEqual([2, 0])
    gates[1]!.resolve()
    gates[2]!.resolve()
    expect(await Promise.all(calls)).toEqual([0, 1, 2])
    expect(peak).toBe(2)
    expect(pool.active).toBe(0)
  })

  it('a queued call whose signal aborts leaves the queue', async () => {
    const pool = bulkhead({ maxConcurrent: 1, maxQueue: 5 })
    const gate = deferred()
    const first = pool.execute(() => gate.promise)
    const controller = new AbortController()
    const queued = settle(pool.execute(ok, controller.signal))
    expect(pool.queued).toBe(1)
    controller.abort()
    expect(isBulwarkError(((await queued) as { error: unknown }).error, 'E_ABORTED')).toBe(true)
    expect(pool.queued).toBe(0)
    gate.resolve()
    await first
    expect(pool.active).toBe(0)
  })
})

describe('fallback', () => {
  it('resolves with a value or a function of the error when the call fails', async () => {
    expect(await fallback('cached').execute(boom)).toBe('cached')
    expect(await fallback((e) => `from ${(e as Error).message}`).execute(boom)).toBe('from boom')
    expect(await fallback('cached').execute(() => 'live')).toBe('live')
  })

  it('rethrows errors `when` rejects, and the caller own abort', async () => {
    await expect(fallback(0, { when: (e) => (e as Error).message === 'x' }).execute(boom)).rejects.toThrow('boom')
    const controller = new AbortController()
    controller.abort()
    await expect(fallback(0).execute(boom, controller.signal)).rejects.toThrow('boom')
  })

  it('catches a rejection by an open breaker', async () => {
    const breaker = circuitBreaker({ clock: fakeClock() })
    breaker.isolate()
    expect(await wrap(fallback('stale'), breaker).execute(() => 'fresh')).toBe('stale')
  })
})

describe('wrap', () => {
  it('runs policies outermost first and passes the signal and attempt through', async () => {
    const clock = fakeClock(0)
    const order: string[] = []
    const tag = (name: string) => ({
      execute: <T>(fn: (c: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T, signal?: AbortSignal) => {
        order.push(name)
        return Promise.resolve(fn({ signal: signal ?? new AbortController().signal, attempt: 1 }))
      },
    })
    const seen: { attempt: number; aborted: boolean }[] = []
    const policy = wrap(
      tag('a'),
      retry({ attempts: 2, backoff: { initial: 1 }, clock }),
      tag('b'),
      timeout(50, { clock }),
    )
    const call = policy.execute(({ attempt, signal }) => {
      seen.push({ attempt, aborted: signal.aborted })
      if (attempt === 1) throw new Error('once')
      return 'second'
    })
    await clock.advanceAsync(10)
    expect(await call).toBe('second')
    expect(order).toEqual(['a', 'b', 'b'])
    expect(seen).toEqual([
      { attempt: 1, aborted: false },
      { attempt: 2, aborted: false },
    ])
  })

  it('gives the innermost function the timeout signal', async () => {
    const clock = fakeClock(0)
    let seen: AbortSignal | undefined
    const call = settle(
      wrap(circuitBreaker({ clock }), timeout(100, { clock })).execute(({ signal }) => {
        seen = signal
        return new Promise(() => {})
      }),
    )
    await clock.advanceAsync(100)
    expect(isBulwarkError(((await call) as { error: unknown }).error, 'E_TIMEOUT')).toBe(true)
    expect(seen?.aborted).toBe(true)
  })
})
