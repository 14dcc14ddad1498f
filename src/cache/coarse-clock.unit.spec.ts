import { describe, expect, it } from 'vitest'
import { fakeClock } from '../testing/fake-clock.js'
import { CoarseClock } from './coarse-clock.js'

describe('CoarseClock', () => {
  it('reads the clock once, then again after a millisecond of timers', () => {
    const clock = fakeClock(1_000)
    let reads = 0
    const counted = {
      ...clock,
      now: () => {
        reads++
        return clock.now()
      },
    }
    const coarse = new CoarseClock(counted)
    expect(coarse.now()).toBe(1_000)
    expect(coarse.now()).toBe(1_000)
    expect(reads).toBe(1)
    clock.advance(5)
    expect(coarse.now()).toBe(1_005)
    expect(reads).toBe(2)
  })

  it('reads the clock again after many reads even if no timer could run', () => {
    const clock = fakeClock(0)
    const coarse = new CoarseClock(clock)
    coarse.now()
    clock.set(50) // timers fire here, but count the next case without them:
    const frozen = { ...clock, setTimeout: () => ({}), clearTimeout: () => {} }
    const starved = new CoarseClock(frozen)
    expect(starved.now()).toBe(50)
    clock.set(60)
    const seen = new Set<number>()
    for (let i = 0; i < 1_000; i++) seen.add(starved.now())
    expect(seen).toEqual(new Set([50, 60]))
  })
})
