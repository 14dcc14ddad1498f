import type { Clock } from '../core/clock.js'
import { TimeoutError } from '../core/errors.js'
import { type Deadline, type RaceEnd, raceDeadline } from './deadline.js'
import { keepingAlive } from './keep-alive.js'
import type { PolicyFn } from './types.js'

/** What {@link HalfOpenProbes} needs from its breaker's options. */
export interface ProbeOptions {
  /** The breaker's name, for the deadline's error. */
  readonly name: string
  readonly clock: Clock
  /** How long a probe may run, ms. */
  readonly deadline: number
  /** Probes running at once, and successes in a row that close the circuit. */
  readonly permittedCalls: number
}

/**
 * The half-open probes of one breaker: their permits, the successes that close the circuit, and the race of
 * each probe against its deadline.
 *
 * A probe holds its permit until the first of: it settles, its caller aborts it, it reaches its deadline (it
 * then counts as failed, its signal is aborted and its caller rejected with a TimeoutError). So a probe that
 * throws, hangs or is aborted never holds a permit forever. A permit outlives the half-open phase that granted
 * it: a probe still running after the circuit reopened keeps its permit until it ends, so probes in flight
 * never exceed `permittedCalls`, across phases too (its outcome, though, counts only in its own phase).
 */
export class HalfOpenProbes {
  readonly #permitted: number
  readonly #deadline: Deadline
  /** Probes holding a permit, whatever their phase. */
  #held = 0
  /** Probes of the current half-open phase that succeeded. */
  #successes = 0

  constructor(options: ProbeOptions) {
    const { name, deadline } = options
    this.#permitted = options.permittedCalls
    this.#deadline = {
      // A probe's caller waits on its deadline timer: it keeps the process alive.
      clock: keepingAlive(options.clock),
      ms: deadline,
      timeoutError: () =>
        new TimeoutError(`A half-open probe of '${name}' ran past its deadline`, {
          context: { name, deadline },
        }),
    }
  }

  /** Probes holding a permit now. */
  get held(): number {
    return this.#held
  }

  /** A half-open phase begins: the successes of an earlier one no longer count. */
  begin(): void {
    this.#successes = 0
  }

  /** Takes a permit; false when the permitted probes are all running or have already succeeded. */
  tryAcquire(): boolean {
    if (this.#held + this.#successes >= this.#permitted) return false
    this.#held++
    return true
  }

  /**
   * Runs `fn` as a probe holding a permit, against the deadline. `onEnd` is called once, when the probe ends
   * (see {@link raceDeadline}), and must {@link release} the permit whatever happens.
   */
  run<T>(fn: PolicyFn<T>, signal: AbortSignal | undefined, onEnd: (end: RaceEnd, result: unknown) => void): Promise<T> {
    return raceDeadline(fn, signal, this.#deadline, onEnd)
  }

  release(): void {
    this.#held--
  }

  /** A probe of the current phase succeeded: true when enough have to close the circuit. */
  succeeded(): boolean {
    return ++this.#successes >= this.#permitted
  }
}
