import { describe, expect, expectTypeOf, it } from 'vitest'
import type { CircuitBreakerOptions, RetryOptions } from '../breaker/index.js'
import type { SagaRetryOptions } from '../saga/index.js'
import { type Backoff, backoffDelay, resolveBackoff } from './backoff.js'
import { isBulwarkError } from './errors.js'

const DEFAULTS = { initial: 1_000, max: 60_000, multiplier: 2 }

describe('Backoff', () => {
  it('waits initial * multiplier^(n-1) the n-th time, capped at max', () => {
    const backoff = resolveBackoff('backoff', { initial: '1s', max: '10s', multiplier: 3 }, DEFAULTS)
    expect(backoff).toEqual({ initial: 1_000, max: 10_000, multiplier: 3 })
    expect([1, 2, 3, 4].map((n) => backoffDelay(backoff, n))).toEqual([1_000, 3_000, 9_000, 10_000])
  })

  it('fills in the defaults of its use', () => {
    expect(resolveBackoff('backoff', undefined, DEFAULTS)).toEqual(DEFAULTS)
    expect(resolveBackoff('backoff', { max: '2m' }, DEFAULTS)).toEqual({ ...DEFAULTS, max: 120_000 })
  })

  it.each<[unknown, string]>([
    [{ initial: 'soon' }, 'retriableRetry.backoff.initial'],
    [{ initial: '2m' }, 'retriableRetry.backoff.max'],
    [{ initial: '1s', max: '10ms' }, 'retriableRetry.backoff.max'],
    [{ multiplier: 0.5 }, 'retriableRetry.backoff.multiplier'],
    [{ factor: 2 }, 'retriableRetry.backoff.factor'],
    ['1s', 'retriableRetry.backoff'],
  ])('rejects %j naming %s', (input, name) => {
    let error: unknown
    try {
      resolveBackoff('retriableRetry.backoff', input as Backoff, DEFAULTS)
    } catch (e) {
      error = e
    }
    expect(isBulwarkError(error, 'E_INVALID_OPTION')).toBe(true)
    expect((error as { context: { name: string } }).context.name).toBe(name)
  })

  it('is the one shape taken by openDuration, retry and saga retries', () => {
    expectTypeOf<Backoff>().toMatchTypeOf<NonNullable<CircuitBreakerOptions['openDuration']>>()
    expectTypeOf<RetryOptions['backoff']>().toEqualTypeOf<Backoff | undefined>()
    expectTypeOf<SagaRetryOptions['backoff']>().toEqualTypeOf<Backoff | undefined>()
  })
})
