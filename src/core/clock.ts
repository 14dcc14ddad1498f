/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = { readonly __timer?: never } | object | number

/**
 * The source of time for everything in Bulwark: TTLs, windows, backoffs, timeouts.
 *
 * Nothing in Bulwark reads `Date.now()` or calls `setTimeout` directly; it asks a clock. Tests pass
 * `fakeClock()` from `bulwark/testing` and move time forward instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch (or any fixed origin; only differences matter, except for recorded-at stamps). */
  now(): number
  /** Calls `callback` once after `ms` milliseconds. Timers never keep the process alive. */
  setTimeout(callback: () => void, ms: number): TimerHandle
  /** Cancels a timer; cancelling one that already fired is a no-op. */
  clearTimeout(handle: TimerHandle): void
}

/**
 * The real clock: `Date.now()` and unref'd Node timers.
 *
 * @example
 * ```ts
 * const cache = createCache({ clock: systemClock })
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms)
    timer.unref?.()
    return timer
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  },
}
