/**
 * Single-flight: the promise of the load in progress for each L1 key, so concurrent misses of a key
 * share one resolution. A write or invalidation of a key detaches its flight (see `Fence`): the old
 * load still answers the callers that joined it, and later callers start a new one.
 */
export class Flights {
  readonly #flights = new Map<string, Promise<unknown>>()

  /** The load in progress for `key`, if any. */
  get(key: string): Promise<unknown> | undefined {
    return this.#flights.get(key)
  }

  has(key: string): boolean {
    return this.#flights.has(key)
  }

  /** Registers `promise` as the flight of `key` until it settles (or is detached). */
  fly<T>(key: string, promise: Promise<T>): Promise<T> {
    this.#flights.set(key, promise)
    const land = () => {
      if (this.#flights.get(key) === promise) this.#flights.delete(key)
    }
    promise.then(land, land)
    return promise
  }

  /** Registers `promise` as the flight of `key`; its owner calls {@link land} when it ends. */
  start(key: string, promise: Promise<unknown>): void {
    this.#flights.set(key, promise)
  }

  /** The flight `promise` of `key` ended: later callers start a new one (unless it was detached and replaced). */
  land(key: string, promise: Promise<unknown> | undefined): void {
    if (promise !== undefined && this.#flights.get(key) === promise) this.#flights.delete(key)
  }

  /** New callers of `key` no longer join the load in progress. */
  detach(key: string): void {
    this.#flights.delete(key)
  }

  /** New callers of every key under `prefix` (`''`: every key) no longer join the loads in progress. */
  detachPrefix(prefix: string): void {
    if (this.#flights.size === 0) return
    if (prefix === '') {
      this.#flights.clear()
      return
    }
    for (const key of this.#flights.keys()) if (key.startsWith(prefix)) this.#flights.delete(key)
  }
}
