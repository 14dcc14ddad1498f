/**
 * The listeners of an adapter's `watch`. `notify` is called after a commit; a listener that throws
 * cannot break the append that triggered it (the events are committed already) nor the other listeners.
 */
export class Watchers {
  readonly #listeners = new Set<() => void>()

  /** Adds a listener; returns the function that removes it. */
  add(listener: () => void): () => void {
    // Wrapped so that the same function watched twice gets two independent registrations.
    const entry = () => listener()
    this.#listeners.add(entry)
    return () => {
      this.#listeners.delete(entry)
    }
  }

  notify(): void {
    for (const listener of this.#listeners) {
      try {
        listener()
      } catch {
        // A watcher is a wake-up hint; its failure is its own business.
      }
    }
  }

  clear(): void {
    this.#listeners.clear()
  }

  get size(): number {
    return this.#listeners.size
  }
}
