/**
 * Work the cache does after answering a caller (L2 writes after a load, refreshes, lock releases).
 * Tracked so `settled()` and `close()` can wait for it. Tracked promises must not reject.
 */
export class Background {
  readonly #pending = new Set<Promise<unknown>>()

  track(promise: Promise<unknown>): void {
    this.#pending.add(promise)
    promise.then(() => this.#pending.delete(promise))
  }

  /** Resolves once nothing is pending, including work started while waiting. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending)
  }
}
