import { describe, expect, it } from 'vitest'
import { isBulwarkError } from '../core/errors.js'
import { fakeClock } from '../testing/fake-clock.js'
import { Deadlines, TIMED_OUT } from './timeouts.js'

const never = () => new Promise<never>(() => {})

describe('Deadlines', () => {
  it('rejects a call that runs past its deadline with E_TIMEOUT and aborts its signal', async () => {
    const clock = fakeClock(0)
    const deadlines = new Deadlines(clock)
    let seen: AbortSignal | undefined
    const call = deadlines.run(100, (signal) => {
      seen = signal
      return never()
    })
    const outcome = call.then(
      () => 'resolved',
      (e: unknown) => e,
    )
    await clock.advanceAsync(99)
    expect(seen?.aborted).toBe(false)
    await clock.advanceAsync(1)
    expect(isBulwarkError(await outcome, 'E_TIMEOUT')).toBe(true)
    expect(seen?.aborted).toBe(true)
  })

  it('lets calls that start close together share one signal and timer, none waiting past its deadline', async () => {
    const clock = fakeClock(0)
    const deadlines = new Deadlines(clock)
    const signals: AbortSignal[] = []
    const hang = (signal: AbortSignal) => {
      signals.push(signal)
      return never()
    }
    const first = deadlines.run(1_000, hang).catch((e: unknown) => e)
    clock.advance(5) // within 1% of the deadline: same bucket
    const second = deadlines.run(1_000, hang).catch((e: unknown) => e)
    clock.advance(10) // past it: a bucket of its own
    const third = deadlines.run(1_000, hang).catch((e: unknown) => e)
    expect(signals[0]).toBe(signals[1])
    expect(signals[2]).not.toBe(signals[0])
    expect(clock.pendingTimers()).toBe(2)
    await clock.advanceAsync(985) // t = 1000: the first bucket fires, for both of its calls
    expect(isBulwarkError(await first, 'E_TIMEOUT') && isBulwarkError(await second, 'E_TIMEOUT')).toBe(true)
    expect(signals[2]?.aborted).toBe(false)
    await clock.advanceAsync(15)
    expect(isBulwarkError(await third, 'E_TIMEOUT')).toBe(true)
  })

  it('caps a bucket at 64 calls, so abort listeners stay few and Node warns about none', async () => {
    const clock = fakeClock(0)
    const deadlines = new Deadlines(clock)
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    const signals = new Set<AbortSignal>()
    const calls = Array.from({ length: 200 }, () =>
      deadlines
        .run(1_000, (signal) => {
          signals.add(signal)
          return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
        })
        .catch((e: unknown) => e),
    )
    expect(signals.size).toBe(4)
    await clock.advanceAsync(1_000)
    expect((await Promise.all(calls)).every((e) => isBulwarkError(e, 'E_TIMEOUT'))).toBe(true)
    await new Promise((r) => setImmediate(r))
    process.off('warning', onWarning)
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
  })

  it('leaves calls that settle in time alone', async () => {
    const clock = fakeClock(0)
    const deadlines = new Deadlines(clock)
    let signal: AbortSignal | undefined
    expect(
      await deadlines.run(100, async (s) => {
        signal = s
        return 'done'
      }),
    ).toBe('done')
    await expect(deadlines.run(100, async () => Promise.reject(new Error('own error')))).rejects.toThrow('own error')
    await clock.advanceAsync(100)
    expect(signal?.aborted).toBe(false) // nothing was running when the bucket's time came
  })
})

describe('Deadlines: groups', () => {
  it('clear a group timer once its calls have settled and no call can join it any more', async () => {
    const clock = fakeClock(0)
    const deadlines = new Deadlines(clock)
    expect(await deadlines.run(1_000, async () => 'done')).toBe('done')
    expect(clock.pendingTimers()).toBe(1) // the group is still open to calls whose deadline is close
    clock.advance(20)
    const hung = deadlines.run(1_000, never).catch((e: unknown) => e)
    expect(clock.pendingTimers()).toBe(1) // the first group closed with nobody in it: its timer is gone
    await clock.advanceAsync(1_000)
    expect(isBulwarkError(await hung, 'E_TIMEOUT')).toBe(true)
    expect(clock.pendingTimers()).toBe(0)
  })

  it('race resolves with the value in time, and with TIMED_OUT at the deadline while the work goes on', async () => {
    const clock = fakeClock(0)
    const deadlines = new Deadlines(clock)
    expect(await deadlines.race(Promise.resolve('fast'), 50)).toBe('fast')
    let finish!: (value: string) => void
    const slow = new Promise<string>((resolve) => {
      finish = resolve
    })
    const raced = deadlines.race(slow, 100)
    await clock.advanceAsync(100)
    expect(await raced).toBe(TIMED_OUT)
    finish('late')
    expect(await slow).toBe('late')
    expect(await deadlines.race(Promise.resolve('no time'), 100)).toBe(TIMED_OUT) // the deadline has passed
  })

  it('tells a member that joined with no time left at once (undefined), and the others when it passes', () => {
    const clock = fakeClock(0)
    const deadlines = new Deadlines(clock)
    const expired: string[] = []
    const member = (name: string) => ({ expire: () => expired.push(name) })
    expect(deadlines.join(0, member('late'))).toBeUndefined()
    const group = deadlines.join(100, member('a'))
    deadlines.join(100, member('b'))?.leave()
    clock.advance(100)
    expect(expired).toEqual(['a', 'b']) // b left already: its expire is a no-op of its own
    group?.leave() // after the deadline: ignored
  })
})
