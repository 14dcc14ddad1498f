import { describe, expect, it } from 'vitest'
import { fakeClock } from '../testing/index.js'
import { type CircuitBreaker, circuitBreaker, type PolicyFn } from './index.js'

// The closed paths settle through one `then` on the function's promise instead of an async function: the
// untimed path (no slow-call detection, no signal) with handlers bound per generation, the timed one with
// handlers bound per group of calls started at one time, a call with a signal with its own. These pin what
// each must keep.
const paths = [
  ['untimed', {}, undefined],
  ['timed', { slowCallDuration: 1_000 }, undefined],
  ['with a signal', { slowCallDuration: 1_000 }, new AbortController().signal],
] as const
describe.each(paths)('circuitBreaker: %s closed path', (_, options, signal) => {
  const execute = <T>(breaker: CircuitBreaker, fn: PolicyFn<T>) => breaker.execute(fn, signal)

  it('counts a function that throws synchronously before execute() returns, and rejects with its error', async () => {
    const breaker = circuitBreaker({ ...options, clock: fakeClock(), minimumCalls: 1 })
    const error = new Error('sync')
    const p = execute(breaker, () => {
      throw error
    })
    expect(breaker.state).toBe('open')
    await expect(p).rejects.toBe(error)
  })

  it('passes plain values, native promises and foreign thenables through, and records them', async () => {
    const breaker = circuitBreaker({ ...options, clock: fakeClock(), minimumCalls: 1 })
    // A PromiseLike that is not a native promise (biome objects to a literal `then`).
    const thenable = Object.fromEntries([
      ['then', (resolve: (v: number) => void) => resolve(3)],
    ]) as unknown as PromiseLike<number>
    expect(await execute(breaker, () => 1)).toBe(1)
    expect(await execute(breaker, async () => 2)).toBe(2)
    expect(await execute(breaker, () => thenable)).toBe(3)
    expect(breaker.metrics().totals.successes).toBe(3)
    expect(breaker.metrics().inFlight).toBe(0)
  })

  it('rejects the caller when a listener throws while its call settles', async () => {
    const breaker = circuitBreaker({ ...options, clock: fakeClock() })
    const error = new Error('listener')
    breaker.on('success', () => {
      throw error
    })
    await expect(execute(breaker, async () => 1)).rejects.toBe(error)
  })

  it('does not let a call started before a reset decide anything after it', async () => {
    const breaker = circuitBreaker({ ...options, clock: fakeClock(), minimumCalls: 1 })
    let fail!: (e: Error) => void
    const p = execute(
      breaker,
      () =>
        new Promise((_, reject) => {
          fail = reject
        }),
    )
    breaker.reset()
    fail(new Error('late'))
    await p.catch(() => {})
    expect(breaker.state).toBe('closed')
    expect(breaker.metrics().calls).toBe(0)
    expect(breaker.metrics().totals.failures).toBe(1)
  })

  it('counts the call in flight while it runs', async () => {
    const breaker = circuitBreaker({ ...options, clock: fakeClock() })
    let inside = -1
    await execute(breaker, () => {
      inside = breaker.metrics().inFlight
      return 1
    })
    expect(inside).toBe(1)
    expect(breaker.metrics().inFlight).toBe(0)
  })

  it('emits success and rejection to listeners added after calls ran without any (emit is skipped only then)', async () => {
    const breaker = circuitBreaker({ ...options, clock: fakeClock(), minimumCalls: 1 })
    await execute(breaker, async () => 1)
    const seen: string[] = []
    const onSuccess = () => seen.push('success')
    breaker.on('success', onSuccess)
    breaker.on('rejection', (reason) => seen.push(reason))
    await execute(breaker, async () => 2)
    breaker.off('success', onSuccess)
    await execute(breaker, async () => 3)
    breaker.isolate()
    await execute(breaker, async () => 4).catch(() => {})
    expect(seen).toEqual(['success', 'forced_open'])
  })
})
