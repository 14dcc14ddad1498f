import { setMaxListeners } from 'node:events'
import type { Clock, TimerHandle } from '../core/clock.js'
import { TimeoutError } from '../core/errors.js'

/** What a soft race ({@link Deadlines.race}) resolves with when time runs out. */
export const TIMED_OUT: unique symbol = Symbol('timed out')

// Calls per group at most. Calls given the group's signal may each add an abort listener, and an
// EventTarget checks its listeners one by one on every add, so a group's list must stay short.
const MAX_MEMBERS = 64

/** A call bounded by a shared deadline. */
export interface Expiring {
  /**
   * The deadline passed. Called once per member of a group that still had a member running then, so a
   * member that has already settled (and left) must ignore it.
   */
  expire(error: TimeoutError): void
}

/**
 * Calls whose deadlines fall close together, sharing one timer, and one abort signal if any of them asks
 * for it. The timer fires at the first member's deadline, so no member waits past its own; it is cleared
 * as soon as no member is running and none can join any more.
 */
export class DeadlineGroup {
  /** When the timer fires (clock time). */
  readonly fireAt: number
  /** How long the first member had: for the error message. */
  readonly ms: number
  joins = 1
  /** Members still running. */
  live = 1
  joinable = true
  fired = false
  members: Expiring[]
  timer: TimerHandle | undefined = undefined
  #controller: AbortController | undefined = undefined
  readonly #deadlines: Deadlines

  constructor(deadlines: Deadlines, fireAt: number, ms: number, first: Expiring) {
    this.#deadlines = deadlines
    this.fireAt = fireAt
    this.ms = ms
    this.members = [first]
  }

  /**
   * A signal that aborts (with the {@link TimeoutError}) when the deadline passes, made on first use: the
   * calls of the hot path (L2 reads, writes and publishes) never ask for one.
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      // Up to MAX_MEMBERS listeners on one signal is the design, not a leak: no warning.
      setMaxListeners(MAX_MEMBERS + 1, this.#controller.signal)
    }
    return this.#controller.signal
  }

  /** A member settled. Every member leaves at most once, and never after the deadline passed. */
  leave(): void {
    if (this.fired || --this.live > 0) return
    // Nobody is running: drop the settled members now rather than at the deadline.
    this.members = []
    if (!this.joinable) this.#deadlines.cancel(this)
  }

  /** @internal The deadline passed. */
  abort(error: TimeoutError): void {
    this.#controller?.abort(error)
  }
}

/**
 * Hard (and soft) deadlines for L2 calls and bus publishes, with no timer, signal or promise per call:
 * those cost more than the rest of an L2 hit. Calls whose deadlines lie within 1% of their time left (at
 * least 1 ms) after an open group's, up to 64 of them, join that group: the timer fires at the first
 * call's deadline, so no call waits past its own (a later one may be abandoned up to 1% early).
 */
export class Deadlines {
  readonly #clock: Clock
  #open: DeadlineGroup | undefined

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /**
   * Puts `member` under `deadline` (a clock time: the steps of one public call share it) and returns its
   * group, which it leaves once it settles; `undefined` when no time is left. `now`: the clock's time,
   * if the caller has just read it.
   */
  join(deadline: number, member: Expiring, now = this.#clock.now()): DeadlineGroup | undefined {
    const left = deadline - now
    if (left <= 0) return undefined
    const open = this.#open
    if (
      open !== undefined &&
      open.fireAt <= deadline &&
      deadline - open.fireAt <= Math.max(1, left / 100) &&
      open.joins < MAX_MEMBERS
    ) {
      open.joins++
      open.live++
      open.members.push(member)
      return open
    }
    if (open !== undefined) this.#close(open)
    const group = new DeadlineGroup(this, deadline, left, member)
    this.#open = group
    group.timer = this.#clock.setTimeout(() => this.#expire(group), left)
    return group
  }

  /**
   * Runs `fn` with a signal that aborts at `deadline`, and rejects with a {@link TimeoutError} then, even
   * if `fn` ignores the signal. With no time left, rejects at once without calling `fn`.
   */
  until<T>(deadline: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const race = new Race<T>()
    const group = this.join(deadline, race)
    if (group === undefined) return Promise.reject(noTimeLeft())
    let work: Promise<T>
    try {
      work = fn(group.signal)
    } catch (error) {
      work = Promise.reject(error)
    }
    return race.run(group, work)
  }

  /**
   * Resolves with `work`'s value, or with {@link TIMED_OUT} once `deadline` passes (a soft timeout: the
   * work goes on). `work` must not reject (the L2 gateway's promises never do).
   */
  race<T>(work: Promise<T>, deadline: number): Promise<T | typeof TIMED_OUT> {
    const race = new Race<T | typeof TIMED_OUT>(TIMED_OUT)
    const group = this.join(deadline, race)
    return group === undefined ? Promise.resolve(TIMED_OUT) : race.run(group, work)
  }

  /**
   * Like {@link until}, with the deadline `ms` from now.
   */
  run<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.until(this.#clock.now() + ms, fn)
  }

  /** @internal Nobody in `group` is running and nobody can join it: its timer has nothing left to do. */
  cancel(group: DeadlineGroup): void {
    if (group.timer !== undefined) this.#clock.clearTimeout(group.timer)
    group.timer = undefined
  }

  #close(group: DeadlineGroup): void {
    group.joinable = false
    if (group.live === 0) this.cancel(group)
  }

  #expire(group: DeadlineGroup): void {
    if (this.#open === group) this.#open = undefined
    group.joinable = false
    group.fired = true
    group.timer = undefined
    const members = group.members
    group.members = []
    if (group.live === 0) return
    group.live = 0
    const error = timedOut(group.ms)
    group.abort(error)
    for (const member of members) member.expire(error)
  }
}

/**
 * One call raced against its group's deadline: rejected with the group's error then ({@link Deadlines.until}),
 * or resolved with `timedOut` when one is given ({@link Deadlines.race}).
 */
class Race<T> implements Expiring {
  #settled = false
  #resolve: ((value: T) => void) | undefined
  #reject: ((error: unknown) => void) | undefined
  readonly #timedOut: T | undefined

  constructor(timedOut?: T) {
    this.#timedOut = timedOut
  }

  run(group: DeadlineGroup, work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
      work.then(
        (value) => {
          if (this.#settle(group)) resolve(value)
        },
        (error: unknown) => {
          if (this.#settle(group)) reject(error)
        },
      )
    })
  }

  expire(error: TimeoutError): void {
    if (this.#settled) return
    this.#settled = true
    if (this.#timedOut === undefined) this.#reject?.(error)
    else this.#resolve?.(this.#timedOut)
  }

  #settle(group: DeadlineGroup): boolean {
    if (this.#settled) return false
    this.#settled = true
    group.leave()
    return true
  }
}

export function noTimeLeft(): TimeoutError {
  return new TimeoutError('No time left before the deadline', { context: { timeoutMs: 0 }, noStack: true })
}

function timedOut(ms: number): TimeoutError {
  return new TimeoutError(`Timed out after ${ms} ms`, { context: { timeoutMs: ms }, noStack: true })
}
