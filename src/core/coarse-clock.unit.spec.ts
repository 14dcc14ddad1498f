import { describe, expect, it } from 'vitest'
import { fakeClock } from '../testing/fake-clock.js'
import { CoarseClock } from './coarse-clock.js'

const counting = (clock: ReturnType<typeof fakeClock>) => {
  const reads = { n: 0 }
  const now = () => {
    reads.n++
    return clock.now()
  }
  return { reads, source: { ...clock, now } }
}

describe('CoarseClock', () => {
  // 64: the breaker's closed path; 1,000: the cache's L1 hits.
  it.each([64, 1_000])('serves one read until its 1 ms timer fires, then reads the clock again (every %i)', (n) => {
    const clock = fakeClock(1_000)
    const { reads, source } = counting(clock)
    const coarse = new CoarseClock(source, { rereadEvery: n })
    expect(coarse.now()).toBe(1_000)
    clock.set(1_000.5) // less than a millisecond: the timer has not fired
    expect(coarse.now()).toBe(1_000)
    expect(coarse.now()).toBe(1_000)
    expect(reads.n).toBe(1)
    clock.advance(1) // the timer fires at 1 ms
    expect(coarse.now()).toBe(1_001.5)
    expect(reads.n).toBe(2)
  })

  it('reads the clock again every 64 reads when no timer can run (the breaker), with one timer pending at a time', () => {
    const clock = fakeClock(0)
    const { reads, source } = counting(clock)
    const coarse = new CoarseClock(source, { rereadEvery: 64 })
    const seen: number[] = []
    for (let i = 0; i < 64; i++) seen.push(coarse.now())
    clock.set(0.25) // below a millisecond: no timer fires
    for (let i = 0; i < 66; i++) seen.push(coarse.now())
    expect(reads.n).toBe(3) // reads 1, 65 and 129
    expect(seen[63]).toBe(0)
    expect(seen[64]).toBe(0.25)
    expect(clock.pendingTimers()).toBe(1)
  })

  it('reads the clock again after 1,000 reads even if no timer could run (the cache)', () => {
    const clock = fakeClock(0)
    const coarse = new CoarseClock(clock, { rereadEvery: 1_000 })
    coarse.now()
    clock.set(50) // timers fire here, but count the next case without them:
    const frozen = { ...clock, setTimeout: () => ({}), clearTimeout: () => {} }
    const starved = new CoarseClock(frozen, { rereadEvery: 1_000 })
    expect(starved.now()).toBe(50)
    clock.set(60)
    const seen = new Set<number>()
    for (let i = 0; i < 1_000; i++) seen.add(starved.now())
    expect(seen).toEqual(new Set([50, 60]))
  })
})
