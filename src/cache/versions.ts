import type { Clock } from '../core/clock.js'
import type { Flights } from './single-flight.js'

/**
 * Entry versions: the writer's clock in µs-sized steps plus a counter, strictly increasing within a
 * process even when the clock stands still or steps back.
 */
export class Versions {
  readonly #clock: Clock
  #last = 0

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** The next version, for a write at `now` (the clock's time, if the caller has just read it). */
  next(now = this.#clock.now()): number {
    const candidate = now * 1000
    this.#last = candidate > this.#last ? candidate : this.#last + 1
    return this.#last
  }
}

// Past this many keys touched while reads are in flight, fall back to fencing everything: the map
// stays bounded under constant traffic, at the price of some reads not filling L1.
const MAX_TOUCHED = 10_000

/**
 * Tells a read (L2 or loader) whether the key it is about to put into L1 was written or invalidated in
 * this process since the read began. Such a read still answers its caller, but must not replace the
 * newer state in L1 or L2. Keys are remembered only while reads are in flight, so memory stays bounded.
 * A write or invalidation also detaches the key's single-flight load, so no later caller joins a load
 * that began before it.
 */
export class Fence {
  #epoch = 0
  /** Epoch of the last invalidation that touched every key (tags, clear, reconnect). */
  #floor = 0
  readonly #touched = new Map<string, number>()
  #open = 0
  readonly #flights: Flights

  constructor(flights: Flights) {
    this.#flights = flights
  }

  /** Starts a read; returns its start epoch. Every `begin` must be paired with `end`. */
  begin(): number {
    this.#open++
    return this.#epoch
  }

  end(): void {
    // Map#clear allocates a new table even when empty: only clear what holds something.
    if (--this.#open === 0 && this.#touched.size > 0) this.#touched.clear()
  }

  /** A write or invalidation of `key` happened now. */
  touch(key: string): void {
    this.#flights.detach(key)
    this.stored(key)
  }

  /** The load of `key` stored its own value now: older reads are fenced, its flight stays joinable. */
  stored(key: string): void {
    const epoch = ++this.#epoch
    if (this.#open === 0) return
    if (this.#touched.size >= MAX_TOUCHED) this.#raiseFloor()
    else this.#touched.set(key, epoch)
  }

  /** An invalidation that may cover any key under `prefix` (an L1 key prefix; `''`: all) happened now. */
  touchAll(prefix: string): void {
    this.#flights.detachPrefix(prefix)
    this.#raiseFloor()
  }

  /** Whether `key` was touched after a read that began at `start`. */
  changedSince(key: string, start: number): boolean {
    return this.#floor > start || (this.#touched.get(key) ?? 0) > start
  }

  #raiseFloor(): void {
    this.#floor = ++this.#epoch
    this.#touched.clear()
  }
}
