import type { CallPermit, CircuitBreaker } from '../breaker/index.js'
import type { Clock } from '../core/clock.js'
import type { TypedEmitter } from '../core/events.js'
import type { CacheEvents, Counters } from './stats.js'
import { type DeadlineGroup, Deadlines, type Expiring, noTimeLeft } from './timeouts.js'
import { kRawRead, kRawWrite, type L2Driver, type L2Entry, type RawRead, type RawWrite } from './types.js'

/** What an L2 call resolves with when it failed, timed out or was refused: callers fall back, never throw. */
export const L2_FAILED: unique symbol = Symbol('L2 failed')
export type L2Result<T> = T | typeof L2_FAILED

/**
 * One L2 operation in flight, started by {@link L2Gateway.start}: its breaker permit and its place under
 * a shared deadline. Whatever comes first (the answer, a failure, the deadline) ends it, once: {@link end}
 * reports the outcome to the breaker and leaves the deadline, and tells the subclass whether it was first.
 *
 * The L2 hot paths (a `getOrSet` miss, `set`) are subclasses, so one object per call carries the call's
 * own state and this; its handlers are the only closures.
 */
export abstract class L2Call<T> implements Expiring {
  #permit: CallPermit | undefined = undefined
  #group: DeadlineGroup | undefined = undefined
  #ended = false

  /** `operation`: what the call is counted as in `l2Error` events (`'get'`, `'set'`). */
  constructor(
    protected readonly gateway: L2Gateway,
    readonly operation: string,
  ) {}

  /** The driver call. `signal` is given on the guarded path only (the breaker was not closed). */
  abstract run(driver: L2Driver, signal?: AbortSignal): Promise<T>
  /** `run`'s promise resolved (on the guarded path: and the breaker let it through). */
  abstract readonly onValue: (value: T) => void
  /** `run` failed, or the breaker refused or timed out the call. */
  abstract readonly onError: (error: unknown) => void
  /** The deadline passed before the call ended. */
  abstract expire(error: unknown): void

  /** @internal Set by the gateway when it starts the call. */
  admitted(permit: CallPermit | undefined, group: DeadlineGroup | undefined): void {
    this.#permit = permit
    this.#group = group
  }

  /** Whether the call has ended (answered, failed or timed out). */
  protected get ended(): boolean {
    return this.#ended
  }

  /**
   * Whether the call runs under the gateway's deadline and permit (false on the guarded path, where the
   * breaker ran `run` as a whole): a step after `run` must then go through the gateway on its own.
   */
  protected get admittedHere(): boolean {
    return this.#group !== undefined
  }

  /**
   * Ends the call unless it has ended already (then returns false): reports `payload`, the value or
   * the error, to the breaker and leaves the deadline. A breaker listener that throws is counted as an
   * `l2Error` of the operation; it never reaches the driver's promise, nor changes the outcome.
   */
  protected end(failed: boolean, payload: unknown): boolean {
    if (this.#ended) return false
    this.#ended = true
    this.#group?.leave()
    const permit = this.#permit
    if (permit !== undefined) {
      try {
        if (failed) permit.failed(payload)
        else permit.succeeded(payload)
      } catch (error) {
        this.gateway.failed(this.operation, error)
      }
    }
    return true
  }
}

/**
 * Every L2 call goes through here: a hard deadline within the breaker's accounting (a timeout counts as
 * a failure, so a hung Redis opens the circuit), and every error turned into {@link L2_FAILED} plus a
 * counted `l2Error` event. Callers fall back; nothing here rejects towards them.
 *
 * While the breaker is closed, a call takes a permit from it (`admit()`) and races the driver's promise
 * against a deadline it shares with the calls around it: one `then` on the driver's promise, no promise,
 * timer or signal of its own. In any other state the call goes through `breaker.execute` as a whole.
 */
export class L2Gateway {
  readonly driver: L2Driver
  /** The driver's reads in two halves, if it has them (see {@link kRawRead}): what {@link L2Read} uses. */
  readonly rawRead: RawRead | undefined
  /** The driver's writes in two halves, if it has them (see {@link kRawWrite}). */
  readonly rawWrite: RawWrite | undefined
  readonly deadlines: Deadlines
  readonly #breaker: CircuitBreaker | undefined
  /** `admit` of the breaker, if it has one (a breaker of another installed copy may not). */
  readonly #admits: boolean
  readonly #counters: Counters
  readonly #events: TypedEmitter<CacheEvents>

  constructor(
    driver: L2Driver,
    breaker: CircuitBreaker | undefined,
    observer: { clock: Clock; counters: Counters; events: TypedEmitter<CacheEvents> },
  ) {
    this.driver = driver
    this.rawRead = capability<RawRead>(driver, kRawRead)
    this.rawWrite = capability<RawWrite>(driver, kRawWrite)
    this.#breaker = breaker
    this.#admits = typeof breaker?.admit === 'function'
    this.deadlines = new Deadlines(observer.clock)
    this.#counters = observer.counters
    this.#events = observer.events
  }

  /**
   * Starts `call` (its `run`) until `deadline`, a clock time: the steps of one public call share it
   * (`now`: the clock's time, if the caller has just read it).
   * The call's `onValue` or `onError` gets the outcome, or its `expire` the deadline: always later,
   * never within this call.
   */
  start<T>(call: L2Call<T>, deadline: number, now?: number): void {
    const permit = this.#admit()
    if (permit === false) {
      // Not closed: the breaker decides (refuses, probes, passes through), with the deadline inside.
      this.guard(deadline, (signal) => call.run(this.driver, signal)).then(call.onValue, call.onError)
      return
    }
    const group = this.deadlines.join(deadline, call, now)
    call.admitted(permit, group)
    let work: Promise<T>
    if (group === undefined) work = Promise.reject(noTimeLeft())
    else {
      try {
        // No signal: the call is raced here, and a command sent to the store cannot be taken back.
        work = call.run(this.driver)
      } catch (error) {
        work = Promise.reject(error)
      }
    }
    work.then(call.onValue, call.onError)
  }

  /**
   * Runs `fn(driver, signal)` until `deadline` (a clock time: the steps of one public call share it),
   * through the breaker when there is one. Never rejects: failures resolve to {@link L2_FAILED}.
   */
  call<T>(
    operation: string,
    deadline: number,
    fn: (driver: L2Driver, signal: AbortSignal) => Promise<T>,
  ): Promise<L2Result<T>> {
    return this.guard(deadline, (signal) => fn(this.driver, signal)).then(undefined, (error: unknown) =>
      this.failed(operation, error),
    )
  }

  /**
   * Runs `fn` until `deadline` behind the breaker; rejects when it fails, times out or is refused. The
   * bus publishes of a cache go through here too: they travel to the same Redis as its L2 calls.
   */
  guard<T>(deadline: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    // The breaker's own signal is not linked: when it gives up on a call it rejects the caller itself,
    // and the call ends at the deadline anyway.
    const run = () => this.deadlines.until(deadline, fn)
    try {
      return this.#breaker ? this.#breaker.execute(run) : run()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Counts a failed L2 call and reports it; what a call resolves with instead of its value. */
  failed(operation: string, error: unknown): typeof L2_FAILED {
    this.#counters.l2Errors++
    this.#events.emit('l2Error', operation, error)
    return L2_FAILED
  }

  /** A permit for a call now; `undefined` without a breaker; `false` when the breaker must decide. */
  #admit(): CallPermit | undefined | false {
    const breaker = this.#breaker
    if (breaker === undefined) return undefined
    return (this.#admits && breaker.admit()) || false
  }
}

/** The internal capability `key` of a driver or bus (see {@link kRawRead}), if it has it. */
export function capability<T>(of: unknown, key: symbol): T | undefined {
  const found = (of as Record<symbol, unknown> | undefined)?.[key]
  return typeof found === 'object' && found !== null ? (found as T) : undefined
}

/**
 * An L2 read of one key in flight. With a driver that reads in two halves (see {@link kRawRead}) the
 * driver's reply is decoded in `onValue`; otherwise `onValue` gets the entry from `driver.get`.
 */
export abstract class L2Read extends L2Call<unknown> {
  /** The driver answered (or, on the guarded path, the breaker let the answer through). */
  readonly onValue: (reply: unknown) => void
  readonly onError: (error: unknown) => void

  /** `l2Key`: the key as the driver knows it (the cache's root prefix included). */
  constructor(
    gateway: L2Gateway,
    readonly l2Key: string,
  ) {
    super(gateway, 'get')
    // Assigned here rather than as class fields: a transpiler that keeps function names (tsx, esbuild's
    // keepNames) wraps every named closure in an Object.defineProperty call, twice per L2 hit.
    const raw = gateway.rawRead
    this.onValue =
      raw === undefined
        ? (entry) => {
            if (this.end(false, entry)) this.answer(entry as L2Entry | undefined)
          }
        : (reply) => {
            const entry = raw.decode(reply)
            if (this.end(false, entry)) this.answer(entry)
          }
    this.onError = (error) => {
      // The driver's own failures as its `get` would report them (errors of ours pass through as they are).
      const reported = raw === undefined ? error : raw.error(error)
      if (this.end(true, reported)) this.answer(this.gateway.failed(this.operation, reported))
    }
  }

  run(driver: L2Driver, signal?: AbortSignal): Promise<unknown> {
    const raw = this.gateway.rawRead
    return raw === undefined ? driver.get(this.l2Key, signal) : raw.get(this.l2Key, signal)
  }

  expire(error: unknown): void {
    this.onError(error)
  }

  /** The outcome: the entry, `undefined` when absent, or {@link L2_FAILED}. Called once. */
  protected abstract answer(found: L2Entry | undefined | typeof L2_FAILED): void
}
