import { describe, expect, it } from 'vitest'
import { deferred, ScriptedDriver } from '../../test/support/cache-scripted-driver.js'
import { fakeClock } from '../testing/fake-clock.js'
import { createCache } from './create-cache.js'
import type { CacheOptions } from './options.js'

/** Two caches with separate L1s and single-flight maps (two processes) on one L2 with locks. */
const twoProcesses = (options: CacheOptions = {}) => {
  const clock = fakeClock(0)
  const l2 = new ScriptedDriver(clock)
  const make = () =>
    createCache({ clock, l2, ttl: '1m', breaker: false, lock: { wait: 1_000, pollInterval: 50 }, ...options })
  return { clock, l2, a: make(), b: make() }
}

describe('distributed single-flight', () => {
  it('one process loads while the other polls L2 for its value', async () => {
    const { clock, a, b } = twoProcesses()
    const gate = deferred()
    let loads = 0
    const loader = async () => {
      loads++
      await gate.promise
      return 'value'
    }
    const first = a.getOrSet('k', loader)
    await new Promise((r) => setImmediate(r))
    const second = b.getOrSet('k', loader)
    await clock.advanceAsync(100)
    gate.release()
    await clock.advanceAsync(100)
    expect(await Promise.all([first, second])).toEqual(['value', 'value'])
    expect(loads).toBe(1)
  })

  it('loads anyway once the bounded wait is over', async () => {
    const { clock, a, b } = twoProcesses()
    const stuck = a.getOrSet('k', () => new Promise<string>(() => {}))
    void stuck
    await new Promise((r) => setImmediate(r))
    let done = false
    const second = b
      .getOrSet('k', () => 'loaded by b')
      .then((v) => {
        done = true
        return v
      })
    await clock.advanceAsync(950)
    expect(done).toBe(false)
    await clock.advanceAsync(100)
    expect(await second).toBe('loaded by b')
  })

  it('releases the lock after loading, so the next miss can take it', async () => {
    const { clock, l2, a, b } = twoProcesses()
    await a.getOrSet('k', () => 1, { ttl: 10 })
    await a.settled()
    clock.advance(20)
    expect(await b.getOrSet('k', () => 2)).toBe(2)
    expect(l2.calls.acquireLock).toBe(2)
  })

  it('is skipped per call with lock: false, and loads at once when L2 fails', async () => {
    const { l2, a } = twoProcesses()
    expect(await a.getOrSet('k', () => 1, { lock: false })).toBe(1)
    expect(l2.calls.acquireLock).toBe(0)
    l2.mode = 'throw'
    expect(await a.getOrSet('j', () => 2)).toBe(2)
  })
})
