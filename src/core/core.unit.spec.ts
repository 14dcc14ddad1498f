import { describe, expect, it } from 'vitest'
import { fakeClock } from '../testing/index.js'
import { sleep } from './abort.js'
import { parseDuration } from './duration.js'
import { BulwarkError, isBulwarkError, type ValidationError } from './errors.js'
import { expectNumber } from './validate.js'

describe('parseDuration', () => {
  it.each([
    [250, 250],
    ['250ms', 250],
    ['30s', 30_000],
    ['1.5s', 1_500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
  ])('parses %s', (input, expected) => {
    expect(parseDuration(input, 'ttl')).toBe(expected)
  })

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, 'soon', '10 years', '', null, {}])(
    'rejects %s naming the option',
    (input) => {
      expect(() => parseDuration(input, 'ttl')).toThrowError(/Expected `ttl` to be a duration/)
      try {
        parseDuration(input, 'ttl')
      } catch (e) {
        expect(isBulwarkError(e, 'E_INVALID_OPTION')).toBe(true)
        expect((e as ValidationError).context.name).toBe('ttl')
      }
    },
  )
})

describe('errors', () => {
  it('recognises Bulwark errors by shape, so two installed copies agree', () => {
    const foreign = Object.assign(new Error('x'), { isBulwarkError: true, code: 'E_CIRCUIT_OPEN' })
    expect(isBulwarkError(foreign)).toBe(true)
    expect(isBulwarkError(foreign, 'E_CIRCUIT_OPEN')).toBe(true)
    expect(isBulwarkError(foreign, 'E_TIMEOUT')).toBe(false)
    expect(isBulwarkError(new Error('x'))).toBe(false)
    expect(isBulwarkError(null)).toBe(false)
  })

  it('can skip the stack on hot paths', () => {
    const cheap = new BulwarkError('E_CIRCUIT_OPEN', 'open', { noStack: true })
    expect(cheap.stack?.split('\n').length).toBe(1)
    expect(new BulwarkError('E_TIMEOUT', 'slow').stack?.split('\n').length).toBeGreaterThan(1)
  })

  it('names the option, the range and the value received', () => {
    expect(() => expectNumber('failureRateThreshold', 1.5, { min: 0, max: 1, exclusiveMin: true })).toThrowError(
      'Expected `failureRateThreshold` to be a number in (0, 1], got 1.5',
    )
    expect(() => expectNumber('attempts', 2.5, { min: 0, integer: true })).toThrowError(
      'Expected `attempts` to be an integer >= 0, got 2.5',
    )
  })
})

describe('fakeClock and sleep', () => {
  it('fires timers in due order as time advances', async () => {
    const clock = fakeClock(0)
    const fired: number[] = []
    clock.setTimeout(() => fired.push(2), 20)
    clock.setTimeout(() => fired.push(1), 10)
    const cancelled = clock.setTimeout(() => fired.push(3), 15)
    clock.clearTimeout(cancelled)
    clock.advance(15)
    expect(fired).toEqual([1])
    clock.advance(5)
    expect(fired).toEqual([1, 2])
    expect(clock.now()).toBe(20)
  })

  it('sleep resolves on the fake clock and rejects on abort', async () => {
    const clock = fakeClock(0)
    let done = false
    const slept = sleep(100, { clock }).then(() => {
      done = true
    })
    await clock.advanceAsync(99)
    expect(done).toBe(false)
    await clock.advanceAsync(1)
    await slept
    expect(done).toBe(true)

    const controller = new AbortController()
    const aborted = sleep(100, { clock, signal: controller.signal })
    controller.abort()
    await expect(aborted).rejects.toSatisfy((e) => isBulwarkError(e, 'E_ABORTED'))
    expect(clock.pendingTimers()).toBe(0)
  })
})
