const FREE = 0
const PENDING = 1
const FLAGGED = 2

/**
 * Start times of the calls in flight, to count a call as slow while it is still running, with no timer.
 *
 * Why this shape: calls start in clock order, so the calls in flight form a queue ordered by start time,
 * even though they finish in any order. Those past the slow-call threshold are always a prefix of it. At
 * each admission (and when the state is read) the breaker asks {@link sweep} to walk that prefix: finished
 * entries are dropped, running ones past the threshold are flagged and counted as slow at once, and the walk
 * stops at the first running call that is still fast. Each entry is visited once, so the cost is O(1)
 * amortized per call; a hung dependency trips the breaker at the first call after the threshold instead of
 * when its own timeout fires. Memory is a fixed ring (`capacity` entries of typed arrays): when more calls
 * than that are in flight, the extra ones are measured only when they finish.
 *
 * A call holds a sequence number (not a slot), so a flagged call whose slot was reused by a later call
 * still knows, when it finishes, that it was already counted.
 */
export class InFlightTracker {
  readonly #starts: Float64Array
  readonly #seqs: Float64Array
  readonly #status: Uint8Array
  readonly #capacity: number
  #head = 0
  #tail = 0

  constructor(capacity: number) {
    this.#capacity = capacity
    this.#starts = new Float64Array(capacity)
    this.#seqs = new Float64Array(capacity).fill(-1)
    this.#status = new Uint8Array(capacity)
  }

  /** Registers a call started at `start`; returns its sequence number, or -1 when the ring is full. */
  add(start: number): number {
    if (this.#tail - this.#head === this.#capacity) {
      this.#dropFinished()
      if (this.#tail - this.#head === this.#capacity) return -1
    }
    const seq = this.#tail++
    const slot = seq % this.#capacity
    this.#starts[slot] = start
    this.#seqs[slot] = seq
    this.#status[slot] = PENDING
    return seq
  }

  /** Marks call `seq` finished. Returns false when it was already counted as slow by {@link sweep}. */
  complete(seq: number): boolean {
    if (seq < 0) return true
    const slot = seq % this.#capacity
    if (this.#seqs[slot] !== seq) return false
    const wasPending = this.#status[slot] === PENDING
    this.#status[slot] = FREE
    return wasPending
  }

  /**
   * Flags every running call started more than `threshold` ms before `now`, calling `onSlow(elapsed, now)`
   * for each, and returns how many it flagged.
   */
  sweep(now: number, threshold: number, onSlow: (elapsed: number, now: number) => void): number {
    let flagged = 0
    while (this.#head < this.#tail) {
      const slot = this.#head % this.#capacity
      const status = this.#status[slot]
      if (status === PENDING) {
        const elapsed = now - this.#starts[slot]!
        if (elapsed <= threshold) break
        this.#status[slot] = FLAGGED
        flagged++
        onSlow(elapsed, now)
      }
      this.#head++
    }
    return flagged
  }

  /** The start time of the oldest call that may still be running, or +Infinity. */
  oldestStart(): number {
    this.#dropFinished()
    return this.#head < this.#tail ? this.#starts[this.#head % this.#capacity]! : Number.POSITIVE_INFINITY
  }

  /** Forgets every call (on a state change: calls from an earlier state no longer count). */
  clear(): void {
    for (let seq = this.#head; seq < this.#tail; seq++) this.#status[seq % this.#capacity] = FREE
    this.#head = this.#tail
  }

  #dropFinished(): void {
    while (this.#head < this.#tail && this.#status[this.#head % this.#capacity] !== PENDING) this.#head++
  }
}
