/**
 * The calls in flight that started at one time (one clock reading), and the settle handlers they share.
 *
 * Why groups: a timed call's settle handlers need its start time, which would cost two closures per call.
 * On the millisecond coarse clock many calls start at the same reading, so they share one group: its handlers
 * are bound once (by the breaker) and the calls only count themselves in and out.
 */
export class CallGroup {
  /** Calls of the group still running and not yet counted as slow. */
  pending = 0
  /** The sweep counted the group's running calls as slow (or the tracker forgot it): they settle uncounted. */
  flagged = false
  /** The breaker's settle handlers for the group's calls, bound on first use. */
  onValue: ((value: unknown) => unknown) | undefined = undefined
  onError: ((error: unknown) => never) | undefined = undefined
  /** The breaker's record of the group's calls (phase and group), bound with the handlers. */
  call: unknown = undefined

  constructor(readonly start: number) {}
}

/**
 * Start times of the calls in flight, to count a call as slow while it is still running, with no timer.
 *
 * Why this shape: calls start in clock order, so the groups of calls in flight form a queue ordered by start
 * time, even though calls finish in any order. Those past the slow-call threshold are always a prefix of it.
 * At each admission (and when the state is read) the breaker asks {@link sweep} to walk that prefix: finished
 * groups are dropped, running ones past the threshold are flagged and their calls counted as slow at once,
 * and the walk stops at the first group that is still fast. Each group is visited once, so the cost is O(1)
 * amortized per call; a hung dependency trips the breaker at the first call after the threshold instead of
 * when its own timeout fires. Memory is a fixed ring of `capacity` groups: when more distinct start times
 * than that are in flight, the extra calls are measured only when they finish.
 */
export class InFlightTracker {
  readonly #ring: (CallGroup | undefined)[]
  readonly #capacity: number
  #head = 0
  #tail = 0
  /** The newest group, which calls starting at the same time join; undefined once it may not be joined. */
  #last: CallGroup | undefined = undefined

  constructor(capacity: number) {
    this.#capacity = capacity
    this.#ring = new Array<CallGroup | undefined>(capacity).fill(undefined)
  }

  /**
   * Registers a call started at `start` and returns its group. A group that the ring has no room for is
   * returned untracked: its calls are timed when they finish, never flagged while running.
   */
  join(start: number): CallGroup {
    const last = this.#last
    if (last !== undefined && last.start === start) {
      last.pending++
      return last
    }
    const group = new CallGroup(start)
    group.pending = 1
    this.#last = group
    if (this.#tail - this.#head === this.#capacity) {
      this.#dropFinished()
      if (this.#tail - this.#head === this.#capacity) return group
    }
    this.#ring[this.#tail++ % this.#capacity] = group
    return group
  }

  /** A call of `group` finished. Returns false when the sweep already counted it as slow. */
  leave(group: CallGroup): boolean {
    if (group.flagged) return false
    group.pending--
    return true
  }

  /**
   * Flags every group of running calls started more than `threshold` ms before `now`, calling
   * `onSlow(elapsed, now)` once per running call, and returns how many calls it flagged.
   */
  sweep(now: number, threshold: number, onSlow: (elapsed: number, now: number) => void): number {
    let flagged = 0
    while (this.#head < this.#tail) {
      const slot = this.#head % this.#capacity
      const group = this.#ring[slot] as CallGroup
      if (group.pending === 0) {
        // The newest group stays, empty, for the calls still to start at its time.
        if (group === this.#last) break
      } else {
        const elapsed = now - group.start
        if (elapsed <= threshold) break
        group.flagged = true
        if (group === this.#last) this.#last = undefined
        for (let i = 0; i < group.pending; i++) onSlow(elapsed, now)
        flagged += group.pending
      }
      this.#ring[slot] = undefined
      this.#head++
    }
    return flagged
  }

  /** Forgets every call (on a state change: calls from an earlier state no longer count). */
  clear(): void {
    for (let seq = this.#head; seq < this.#tail; seq++) {
      const slot = seq % this.#capacity
      ;(this.#ring[slot] as CallGroup).flagged = true
      this.#ring[slot] = undefined
    }
    this.#last = undefined
    this.#head = this.#tail
  }

  #dropFinished(): void {
    while (this.#head < this.#tail) {
      const slot = this.#head % this.#capacity
      const group = this.#ring[slot] as CallGroup
      if (group.pending !== 0) return
      // A dropped group can no longer be swept, so no call may join it.
      if (group === this.#last) this.#last = undefined
      this.#ring[slot] = undefined
      this.#head++
    }
  }
}
