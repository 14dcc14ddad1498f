/**
 * The sagas an orchestrator drives, and their lease (see `lease` in the options). One timer per orchestrator,
 * not one per saga: every eighth of the lease it asks each running saga to renew its lease if it is due.
 * The timer runs only while some saga is driven, and is housekeeping: it keeps no process alive.
 */
import type { Clock, TimerHandle } from '../core/clock.js'

/** A running saga whose lease needs looking after. */
export interface LeaseHolder {
  /** Appends a heartbeat if nothing was appended for a quarter of the lease (or gives the saga up). */
  renew(now: number): void
  /** Stops the run: its steps' signals abort with `reason`. */
  stopRun(reason: unknown): void
}

export class LeaseKeeper {
  readonly #holders = new Set<LeaseHolder>()
  #timer: TimerHandle | undefined

  readonly #clock: Clock
  readonly #lease: number

  constructor(clock: Clock, lease: number) {
    this.#clock = clock
    this.#lease = lease
  }

  add(holder: LeaseHolder): void {
    this.#holders.add(holder)
    if (this.#timer === undefined) this.#arm()
  }

  /** `close()`: every run stops. */
  stopAll(reason: unknown): void {
    for (const holder of this.#holders) holder.stopRun(reason)
  }

  /** The timer stops at its next tick when nothing is left. */
  delete(holder: LeaseHolder): void {
    this.#holders.delete(holder)
  }

  #arm(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined
      if (this.#holders.size === 0) return
      const now = this.#clock.now()
      for (const holder of this.#holders) holder.renew(now)
      this.#arm()
    }, this.#lease / 8)
  }
}
