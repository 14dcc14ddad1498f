import type { Clock } from '../core/clock.js'

/** Reads served from the cached time before the clock is read again even if no timer could run. */
const READS_PER_TICK = 64

/**
 * The time at which a closed-state call of an untimed breaker ended, for the time window only.
 *
 * Why: on some virtual machines `Date.now()` costs about 100 ns, more than the rest of the closed path, and
 * a time window only needs the time to pick a bucket (seconds wide by default). So the time is read once,
 * then served until a 1 ms timer marks it stale; a stretch of calls that never yields to the event loop
 * (timers cannot fire) re-reads it every {@link READS_PER_TICK} reads. A recorded end time is thus at most
 * about a millisecond old. Everything that decides a state (openUntil, time in state) still reads the exact
 * clock, and the breaker uses this only with the system clock, so fake-clock tests see exact time.
 */
export class TickClock {
  readonly #source: Clock
  #time = 0
  /** Reads left before the cached time must be refreshed; 0 when stale. */
  #left = 0
  /** One stale-marking timer at a time, however often the time is re-read while it is pending. */
  #timerPending = false
  readonly #stale = () => {
    this.#timerPending = false
    this.#left = 0
  }

  constructor(source: Clock) {
    this.#source = source
  }

  now(): number {
    if (this.#left > 0) {
      this.#left--
      return this.#time
    }
    return this.#read()
  }

  #read(): number {
    this.#time = this.#source.now()
    this.#left = READS_PER_TICK - 1
    if (!this.#timerPending) {
      this.#timerPending = true
      this.#source.setTimeout(this.#stale, 1)
    }
    return this.#time
  }
}
