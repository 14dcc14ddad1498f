import type { Clock } from '../core/clock.js'

// After this many reads the time is read again even if the timer has not fired: a loop that awaits
// only microtasks never lets timers run, and must not see time stand still.
const MAX_READS = 1_000

/**
 * The time for L1 expiry checks, read from the real clock at most once a millisecond (or every
 * {@link MAX_READS} reads). Reading a clock can cost more than the whole L1 hit (100 ns on some
 * virtual machines), so the hit path asks this instead; writes and misses use the exact clock.
 * An entry may thus be served as fresh up to about a millisecond past its expiry.
 */
export class CoarseClock {
  readonly #clock: Clock
  #now = 0
  #valid = false
  #reads = 0
  readonly #expire = () => {
    this.#valid = false
  }

  constructor(clock: Clock) {
    this.#clock = clock
  }

  now(): number {
    if (this.#valid && ++this.#reads < MAX_READS) return this.#now
    return this.#refresh()
  }

  #refresh(): number {
    this.#now = this.#clock.now()
    this.#reads = 0
    if (!this.#valid) {
      this.#valid = true
      this.#clock.setTimeout(this.#expire, 1)
    }
    return this.#now
  }
}
