import type { Clock } from './clock.js'

/** Options of {@link CoarseClock}. */
export interface CoarseClockOptions {
  /**
   * Reads served by one reading of the clock at most: the time is read again after this many even if the
   * 1 ms timer has not fired. A stretch of work that awaits only microtasks never lets timers run, and must
   * not see time stand still.
   */
  rereadEvery: number
}

/**
 * The time, read from `source` at most once a millisecond (or every `rereadEvery` reads), for checks that
 * tolerate a time up to about a millisecond old.
 *
 * Why: on some virtual machines reading the clock costs about 100 ns, more than a whole L1 cache hit or a
 * breaker's closed path. So the time is read once, then served until a 1 ms timer marks it stale; a
 * stretch of reads that never yields to the event loop (timers cannot fire) re-reads it every
 * `rereadEvery` reads. One stale-marking timer is pending at a time, however often the time is re-read.
 *
 * @example
 * ```ts
 * const coarse = new CoarseClock(systemClock, { rereadEvery: 1_000 })
 * const fresh = entry.expiresAt > coarse.now()
 * ```
 */
export class CoarseClock {
  readonly #source: Clock
  readonly #rereadEvery: number
  #time = 0
  /** Reads left before the time must be read again; 0 when stale. */
  #left = 0
  #timerPending = false
  readonly #stale = () => {
    this.#timerPending = false
    this.#left = 0
  }

  constructor(source: Clock, options: CoarseClockOptions) {
    this.#source = source
    this.#rereadEvery = options.rereadEvery
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
    this.#left = this.#rereadEvery - 1
    if (!this.#timerPending) {
      this.#timerPending = true
      this.#source.setTimeout(this.#stale, 1)
    }
    return this.#time
  }
}
