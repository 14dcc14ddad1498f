// Keys remembered without a flight before they are swept out (see `Flights`).
export const MAX_IDLE_KEYS = 4_096

/**
 * Single-flight: the promise of the load in progress for each L1 key, so concurrent misses of a key
 * share one resolution. A write or invalidation of a key detaches its flight (see `Fence`): the old
 * load still answers the callers that joined it, and later callers start a new one.
 *
 * A flight that ends leaves its key in the map with no promise instead of deleting it: a `Map` whose
 * entries come and go at every L2 hit reallocates its table again and again (it shrinks below a quarter
 * full and grows back), and the young tables and promises it points to from the old generation made
 * garbage collection most of the cost of a concurrent L2 hit. Keys without a flight are swept out once
 * more than {@link MAX_IDLE_KEYS} of them pile up, so memory stays bounded by that, not by the key space.
 */
export class Flights {
  readonly #flights = new Map<string, Promise<unknown> | undefined>()
  /** Flights in progress (keys whose value is a promise). */
  #live = 0

  /** Keys remembered, with a flight or without (bounded: see above). */
  get size(): number {
    return this.#flights.size
  }

  /** The load in progress for `key`, if any. */
  get(key: string): Promise<unknown> | undefined {
    return this.#flights.get(key)
  }

  /** Registers `promise` as the flight of `key` until it settles (or is detached). */
  fly<T>(key: string, promise: Promise<T>): Promise<T> {
    this.start(key, promise)
    const land = () => this.land(key, promise)
    promise.then(land, land)
    return promise
  }

  /** Registers `promise` as the flight of `key`; its owner calls {@link land} when it ends. */
  start(key: string, promise: Promise<unknown>): void {
    if (this.#flights.get(key) === undefined) this.#live++
    this.#flights.set(key, promise)
  }

  /** The flight `promise` of `key` ended: later callers start a new one (unless it was detached and replaced). */
  land(key: string, promise: Promise<unknown> | undefined): void {
    if (promise !== undefined && this.#flights.get(key) === promise) this.#end(key)
  }

  /** New callers of `key` no longer join the load in progress. */
  detach(key: string): void {
    if (this.#flights.get(key) !== undefined) this.#end(key)
  }

  /** New callers of every key under `prefix` (`''`: every key) no longer join the loads in progress. */
  detachPrefix(prefix: string): void {
    if (this.#live === 0) return
    if (prefix === '') {
      this.#flights.clear()
      this.#live = 0
      return
    }
    for (const [key, flight] of this.#flights) if (flight !== undefined && key.startsWith(prefix)) this.#end(key)
  }

  #end(key: string): void {
    this.#flights.set(key, undefined)
    this.#live--
    if (this.#flights.size - this.#live > MAX_IDLE_KEYS) this.#sweep()
  }

  /** Forgets the keys without a flight (all at once: one reallocation, not one per key). */
  #sweep(): void {
    if (this.#live === 0) {
      this.#flights.clear()
      return
    }
    for (const [key, flight] of this.#flights) if (flight === undefined) this.#flights.delete(key)
  }
}
