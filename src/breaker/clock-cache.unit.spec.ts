import { describe, expect, it } from 'vitest'
import { fakeClock } from '../testing/index.js'
import { TickClock } from './clock-cache.js'

const counting = (clock: ReturnType<typeof fakeClock>) => {
  const reads = { n: 0 }
  const now = () => {
    reads.n++
    return clock.now()
  }
  return { reads, source: { ...clock, now } }
}

describe('TickClock', () => {
  it('serves one read until its 1 ms timer fires, then reads the clock again', () => {
    const clock = fakeClock(1_000)
    const { reads, source } = counting(clock)
    const tick = new TickClock(source)
    expect(tick.now()).toBe(1_000)
    clock.set(1_000.5) // less than a millisecond: the timer has not fired
    expect(tick.now()).toBe(1_000)
    expect(reads.n).toBe(1)
    clock.advance(1)
    expect(tick.now()).toBe(1_001.5)
    expect(reads.n).toBe(2)
  })

  it('reads the clock again every 64 reads when no timer can run, with one timer pending at a time', () => {
    const clock = fakeClock(0)
    const { reads, source } = counting(clock)
    const tick = new TickClock(source)
    const seen: number[] = []
    for (let i = 0; i < 64; i++) seen.push(tick.now())
    clock.set(0.25) // below a millisecond: no timer fires
    for (let i = 0; i < 66; i++) seen.push(tick.now())
    expect(reads.n).toBe(3) // reads 1, 65 and 129
    expect(seen[63]).toBe(0)
    expect(seen[64]).toBe(0.25)
    expect(clock.pendingTimers()).toBe(1)
  })
})
