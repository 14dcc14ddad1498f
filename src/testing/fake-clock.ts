import type { Clock, TimerHandle } from '../core/clock.js'

/** A {@link Clock} whose time moves only when a test says so. */
export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, firing every timer that falls due, in order, each at its own time. */
  advance(ms: number): void
  /** Like {@link advance}, but lets promise callbacks run between timers (awaits a macrotask after each). */
  advanceAsync(ms: number): Promise<void>
  /** Sets the time (never backwards) and fires the timers that fall due. */
  set(now: number): void
  /** Number of timers waiting to fire. */
  pendingTimers(): number
  /** Fires every pending timer, moving time to each one's due time. Returns how many fired. */
  runAll(limit?: number): number
}

interface PendingTimer {
  id: number
  due: number
  callback: () => void
}

/**
 * A fake clock for tests: no sleeping, time moves with `advance`.
 *
 * @example
 * ```ts
 * const clock = fakeClock()
 * const cache = createCache({ clock, ttl: '1m' })
 * await cache.set('k', 1)
 * clock.advance(61_000)
 * expect(await cache.get('k')).toBeUndefined()
 * ```
 */
export function fakeClock(start = 1_700_000_000_000): FakeClock {
  let now = start
  let nextId = 1
  let timers: PendingTimer[] = []

  const fireDue = (until: number): boolean => {
    let earliest: PendingTimer | undefined
    for (const t of timers)
      if (t.due <= until && (!earliest || t.due < earliest.due || (t.due === earliest.due && t.id < earliest.id)))
        earliest = t
    if (!earliest) return false
    const fired = earliest
    timers = timers.filter((t) => t !== fired)
    now = Math.max(now, fired.due)
    fired.callback()
    return true
  }

  return {
    now: () => now,
    setTimeout(callback, ms): TimerHandle {
      const timer = { id: nextId++, due: now + Math.max(0, ms), callback }
      timers.push(timer)
      return { id: timer.id }
    },
    clearTimeout(handle) {
      const id = (handle as { id?: number } | undefined)?.id
      timers = timers.filter((t) => t.id !== id)
    },
    advance(ms) {
      const target = now + ms
      while (fireDue(target)) {}
      now = target
    },
    async advanceAsync(ms) {
      const target = now + ms
      await flush()
      while (fireDue(target)) await flush()
      now = target
      await flush()
    },
    set(time) {
      const target = Math.max(now, time)
      while (fireDue(target)) {}
      now = target
    },
    pendingTimers: () => timers.length,
    runAll(limit = 10_000) {
      let fired = 0
      while (fired < limit && fireDue(Number.POSITIVE_INFINITY)) fired++
      return fired
    },
  }
}

function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
