import { toAbortedError } from '../core/abort.js'
import { type Clock, systemClock } from '../core/clock.js'
import { CoarseClock } from '../core/coarse-clock.js'
import { TypedEmitter } from '../core/events.js'
import { LatencyHistogram } from './adaptive.js'
import { type GuardingBreaker, type HoldsBreakers, kBreakers } from './compose.js'
import { contextFor, IDLE_CONTEXT } from './context.js'
import { CountTrips } from './count-trips.js'
import { ABORTED, type RaceEnd, TIMED_OUT, VALUE } from './deadline.js'
import { BrokenCircuitError, IsolatedCircuitError, ThrottledError } from './errors.js'
import type { BreakerEvents, BreakerMetrics, FailureReason, RejectionReason } from './events.js'
import { type CallGroup, InFlightTracker } from './in-flight.js'
import { type CircuitBreakerOptions, type ResolvedBreakerOptions, resolveBreakerOptions } from './options.js'
import { CallPermit, type PermitHost } from './permit.js'
import {
  CLOSED,
  closed,
  DISABLED,
  disabled,
  FORCED_OPEN,
  forcedOpen,
  HALF_OPEN,
  type HalfOpen,
  halfOpen,
  NAMES,
  OPEN,
  type Open,
  open,
  type Phase,
} from './phase.js'
import { HalfOpenProbes } from './probe.js'
import { Rejection } from './reject.js'
import { type BreakerSnapshot, validateSnapshot } from './snapshot.js'
import { SreThrottle } from './throttle.js'
import type { CircuitState, Outcome, Policy, PolicyFn } from './types.js'
import { CountWindow, FAILED, SLOW, type SlidingWindow, TimeWindow } from './window.js'

/** A fixed slow-call threshold from which calls are timed with the millisecond coarse clock (see the constructor). */
const COARSE_THRESHOLD_MS = 100
/** Reads one reading of the system clock serves at most on the closed path (see {@link CoarseClock}). */
const COARSE_REREAD_EVERY = 64

/**
 * Where a closed call belongs: the phase it started in (under a later one it only reports) and, when it is
 * timed, its in-flight group. Made once per closed phase for untimed calls without a signal, once per group
 * for timed ones, per call only for calls with a signal (which have closures of their own anyway).
 */
interface ClosedCall {
  readonly phase: Phase
  readonly group: CallGroup | undefined
}
type TimedCall = ClosedCall & { readonly group: CallGroup }

/**
 * A circuit breaker (see {@link circuitBreaker}).
 *
 * The closed path does only what the options need, decided once at construction: with slow-call detection
 * a call reads the start and end time (from the millisecond coarse clock for a fixed threshold of 100 ms or
 * more on the system clock, the exact clock otherwise) and counts itself in and out of its in-flight group;
 * without it, no clock read at all for a count window. Never a timer, never a closure per call without a
 * signal. OPEN -> HALF_OPEN is decided lazily when a call arrives or the state is read, so an open breaker
 * holds no timer either; only half-open probes (at most `permittedCalls`) get a deadline timer each.
 */
export class CircuitBreaker extends TypedEmitter<BreakerEvents> implements Policy, HoldsBreakers {
  readonly name: string
  readonly #o: ResolvedBreakerOptions
  readonly #clock: Clock
  /**
   * The clock for checks that tolerate time up to a millisecond old: a {@link CoarseClock} on the system
   * clock, the clock itself otherwise (so fake-clock tests see exact time). A recorded end time is thus at
   * most about a millisecond old; everything that decides a state (openUntil, time in state) reads the
   * exact clock.
   */
  readonly #ticks: Pick<Clock, 'now'>
  /** Where a timed call's start and end are read: `#ticks` for a fixed threshold of 100 ms or more, the exact clock otherwise. */
  readonly #callClock: Pick<Clock, 'now'>
  /** Where a closed call's end time is read: `#callClock` for timed calls, `#ticks` otherwise. */
  readonly #endClock: Pick<Clock, 'now'>
  /** Timed calls read the exact clock: opening at their start or end time needs no further clock read. */
  readonly #exactCallClock: boolean
  readonly #window: SlidingWindow
  readonly #inflight: InFlightTracker
  readonly #histogram: LatencyHistogram | undefined
  readonly #throttle: SreThrottle | undefined
  /** "N failures within T" and "N in a row"; undefined when neither is configured. */
  readonly #counts: CountTrips | undefined
  readonly #probes: HalfOpenProbes
  /** Calls are timed (start and end): slow-call detection or adaptive options are on. */
  readonly #timesCalls: boolean
  /** The end of a call is read from the clock: timed calls, a time window, or throttling. */
  readonly #readsEnd: boolean
  readonly #failuresTrip: boolean
  readonly #throttled: Rejection
  readonly #onSlowInFlight = (elapsed: number, now: number) => {
    this.#window.record(now, SLOW)
    this.#totals.slowCalls++
    this.emit('slowCall', elapsed, true)
  }
  /** The state and its data; a new object at every transition (see {@link Phase}). */
  #phase: Phase
  /**
   * The settle handlers of an untimed closed call without a signal, bound to the closed phase (see
   * {@link #bindClosed}): such a call needs no per-call data, so it costs `fn()` and one `then`, no closure.
   */
  #onClosedValue!: (value: unknown) => unknown
  /** The record of an untimed call of the current closed phase (set with the handlers, {@link #bindClosed}). */
  #closedCall!: ClosedCall
  #onClosedError!: (error: unknown) => never
  #consecutiveOpens = 0
  /** The slow-call threshold in force; +Infinity when slow-call detection is off. */
  #slowMs: number
  #inFlight = 0
  readonly #totals = { successes: 0, failures: 0, slowCalls: 0, rejections: 0, throttled: 0, ignored: 0 }

  constructor(options?: CircuitBreakerOptions) {
    super()
    const o = resolveBreakerOptions(options)
    this.#o = o
    this.name = o.name
    this.#clock = o.clock
    this.#window =
      o.window.type === 'count' ? new CountWindow(o.window.size) : new TimeWindow(o.window.duration, o.window.buckets)
    this.#inflight = new InFlightTracker(o.maxTrackedCalls)
    this.#slowMs = o.slowCallDuration ?? o.adaptive?.ceiling ?? Number.POSITIVE_INFINITY
    this.#histogram = o.adaptive && new LatencyHistogram(o.adaptive, this.#slowMs)
    this.#throttle = o.throttling && new SreThrottle(o.throttling)
    this.#counts = o.counts && new CountTrips(o.counts)
    this.#probes = new HalfOpenProbes({
      name: o.name,
      clock: o.clock,
      deadline: o.halfOpenDeadline,
      permittedCalls: o.permittedCalls,
    })
    this.#timesCalls = o.slowCallDuration !== undefined || o.adaptive !== undefined
    this.#readsEnd = this.#timesCalls || o.window.type === 'time' || o.throttling !== undefined
    // An untimed call's end time only picks a window (or throttle) bucket, so on the system clock it may be
    // up to a millisecond old. A timed call's duration may be too when the threshold is fixed and counted in
    // hundreds of milliseconds or more: a millisecond is then within 1 % of it, and the two exact clock reads
    // a timed call would cost otherwise (about 100 ns each on some virtual machines) are most of its price.
    // The learned threshold of adaptiveSlowCall keeps the exact clock: its histogram wants sub-ms latencies.
    this.#ticks =
      this.#clock === systemClock ? new CoarseClock(this.#clock, { rereadEvery: COARSE_REREAD_EVERY }) : this.#clock
    const coarse = o.adaptive === undefined && (o.slowCallDuration ?? 0) >= COARSE_THRESHOLD_MS
    this.#callClock = coarse ? this.#ticks : this.#clock
    this.#endClock = this.#timesCalls ? this.#callClock : this.#ticks
    this.#exactCallClock = this.#timesCalls && this.#callClock === this.#clock
    this.#failuresTrip = o.throttling?.mode !== 'instead-of-open'
    this.#throttled = new Rejection(new ThrottledError({ context: { name: this.name } }))
    this.#phase = closed(this.#clock.now())
    this.#bindClosed(this.#phase)
    if (o.initialState !== undefined) this.#restore(validateSnapshot(o.initialState))
  }

  /** The current state. Reading it applies transitions that are due (OPEN -> HALF_OPEN, a hung call tripping). */
  get state(): CircuitState {
    this.#refresh(this.#clock.now())
    return NAMES[this.#phase.state]!
  }

  /**
   * Runs `fn` if the circuit lets it through, recording its outcome; rejects at once with a
   * {@link BrokenCircuitError} (`E_CIRCUIT_OPEN`, or `E_CIRCUIT_ISOLATED` when forced open) otherwise.
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(toAbortedError(signal))
    if (this.#phase.state === CLOSED) {
      let start = 0
      if (this.#timesCalls) {
        start = this.#callClock.now()
        if (this.#inflight.sweep(start, this.#slowMs, this.#onSlowInFlight) > 0)
          this.#evaluate(this.#exactCallClock ? start : undefined)
      }
      if (this.#phase.state === CLOSED) {
        if (this.#throttle?.shouldReject(this.#clock.now())) return this.#reject('throttled', this.#throttled)
        if (signal !== undefined) return this.#runClosed(fn, signal, start)
        return this.#timesCalls ? this.#observeTimed(fn, start) : this.#observeClosed(fn)
      }
    }
    // Rejecting in OPEN needs no exact time: a coarse clock lags, so it can only delay HALF_OPEN by up to a
    // millisecond, never start it early; everything past this check reads the exact clock.
    const phase = this.#phase
    if (phase.state === OPEN && this.#ticks.now() < phase.until) return this.#reject('open', phase.rejection)
    return this.#executeOther(fn, signal, this.#clock.now())
  }

  /**
   * Admits one call that the caller runs and times itself, with no promise of the breaker's own: in the
   * CLOSED state (without throttling) it counts the call in and returns the permit to report its end with;
   * otherwise `undefined`, and the caller goes through {@link execute}, which rejects, probes or passes the
   * call through as the state says. For a caller whose own promise chain is its hot path (the cache's L2
   * calls). A call that never reports still counts as slow once it runs past `slowCallDuration`.
   *
   * @example
   * ```ts
   * const permit = breaker.admit()
   * if (permit === undefined) return breaker.execute(() => redis.get(key))
   * return redis.get(key).then(
   *   (value) => {
   *     permit.succeeded(value)
   *     return value
   *   },
   *   (error: unknown) => {
   *     permit.failed(error)
   *     throw error
   *   },
   * )
   * ```
   */
  admit(): CallPermit | undefined {
    if (this.#phase.state !== CLOSED || this.#throttle !== undefined) return undefined
    let start = 0
    if (this.#timesCalls) {
      start = this.#callClock.now()
      if (this.#inflight.sweep(start, this.#slowMs, this.#onSlowInFlight) > 0) {
        this.#evaluate(this.#exactCallClock ? start : undefined)
        if (this.#phase.state !== CLOSED) return undefined
      }
    }
    this.#inFlight++
    if (!this.#timesCalls) return new CallPermit(this.#permitHost, this.#closedCall)
    const group = this.#inflight.join(start)
    if (group.onValue === undefined) this.#bindGroup(group)
    return new CallPermit(this.#permitHost, group.call)
  }

  /** Where the permits of {@link admit} report: as a closed call's own `then` handlers would. */
  readonly #permitHost: PermitHost<ClosedCall> = {
    settle: (call, failed, payload) => {
      this.#inFlight--
      if (failed) this.#settleClosed(call, this.#errorFailure(payload))
      else if (this.#o.isResultFailure?.(payload)) this.#settleClosed(call, { value: payload })
      else if (call.group !== undefined) this.#succeedTimed(call as TimedCall)
      else this.#succeedUntimed(call.phase)
    },
  }

  /**
   * Like {@link execute}, but resolves with an outcome instead of rejecting. While the circuit is open a
   * rejection costs no allocation: every rejected call gets the same resolved promise.
   */
  tryExecute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<Outcome<T>> {
    const phase = this.#phase
    if (phase.state === FORCED_OPEN || (phase.state === OPEN && this.#ticks.now() < phase.until)) {
      this.#countRejection(phase.state === OPEN ? 'open' : 'forced_open')
      return phase.rejection.outcome
    }
    return this.execute(fn, signal).then(toSuccess, toFailure) as Promise<Outcome<T>>
  }

  /** Forces the circuit open (FORCED_OPEN) until `reset()`: calls are rejected with `E_CIRCUIT_ISOLATED`. */
  isolate(): void {
    const rejection = new Rejection(new IsolatedCircuitError({ context: { name: this.name } }))
    this.#transition(forcedOpen(this.#clock.now(), rejection))
  }

  /** Lets every call through without recording anything (DISABLED) until `reset()`. */
  disable(): void {
    this.#transition(disabled(this.#clock.now()))
  }

  /** Closes the circuit with an empty window, whatever the state, and forgets consecutive openings. */
  reset(): void {
    this.#consecutiveOpens = 0
    this.#transition(closed(this.#clock.now()))
  }

  /** A snapshot of the state, rates and counters. */
  metrics(): BreakerMetrics {
    const now = this.#clock.now()
    this.#refresh(now)
    const w = this.#window
    w.refresh(now)
    return {
      name: this.name,
      state: NAMES[this.#phase.state]!,
      failureRate: w.calls === 0 ? 0 : w.failures / w.calls,
      slowCallRate: w.calls === 0 ? 0 : w.slowCalls / w.calls,
      calls: w.calls,
      failures: w.failures,
      slowCalls: w.slowCalls,
      inFlight: this.#inFlight,
      probesInFlight: this.#probes.held,
      timeInState: now - this.#phase.since,
      consecutiveOpens: this.#consecutiveOpens,
      slowCallDuration: Number.isFinite(this.#slowMs) ? this.#slowMs : null,
      throttleProbability: this.#throttle?.probability(now) ?? 0,
      totals: { ...this.#totals },
    }
  }

  /** The state to persist and restore later through the `initialState` option. */
  toJSON(): BreakerSnapshot {
    const m = this.metrics()
    const phase = this.#phase
    return {
      version: 1,
      state: m.state,
      since: phase.since,
      openUntil: phase.state === OPEN || phase.state === HALF_OPEN ? phase.until : null,
      consecutiveOpens: m.consecutiveOpens,
      slowCallDuration: m.slowCallDuration,
      window: this.#window.toJSON(),
      ...(this.#counts && { counts: this.#counts.toJSON() }),
    }
  }

  /** The breakers a policy is or holds, for `wrap` (see compose.ts): itself. */
  [kBreakers](): readonly GuardingBreaker[] {
    return [this]
  }

  // --- The closed path -------------------------------------------------------------------------------------

  /** The closed path when the call needs no per-call data: no timing, no signal (see {@link #bindClosed}). */
  #observeClosed<T>(fn: PolicyFn<T>): Promise<T> {
    let result: PromiseLike<T> | T
    this.#inFlight++
    try {
      result = fn(IDLE_CONTEXT)
    } catch (error) {
      return this.#thrownClosed(error)
    }
    return Promise.resolve(result).then(this.#onClosedValue, this.#onClosedError) as Promise<T>
  }

  /**
   * Binds the closed-call handlers to `phase`, a closed phase. Called whenever the circuit closes, so a call
   * that settles after a transition reports under the phase it started in, as {@link #runClosed} does with
   * its own record.
   */
  #bindClosed(phase: Phase): void {
    const call: ClosedCall = { phase, group: undefined }
    this.#closedCall = call
    this.#onClosedValue = (value) => {
      this.#inFlight--
      if (this.#o.isResultFailure?.(value)) this.#settleClosed(call, { value })
      else this.#succeedUntimed(phase)
      return value
    }
    this.#onClosedError = (error) => {
      this.#inFlight--
      this.#settleClosed(call, this.#errorFailure(error))
      throw error
    }
  }

  /**
   * `fn` threw synchronously: settled at once, as its promise's rejection would be, so the state is up to date
   * when execute() returns; async so that anything thrown while settling rejects the returned promise too.
   */
  async #thrownClosed(error: unknown, group?: CallGroup, signal?: AbortSignal): Promise<never> {
    this.#inFlight--
    if (signal?.aborted) this.#ignoreClosed(group)
    else this.#settleClosed({ phase: this.#phase, group }, this.#errorFailure(error))
    throw error
  }

  /** {@link #settleClosed} for a success of an untimed call, with what cannot apply taken out. */
  #succeedUntimed(phase: Phase): void {
    this.#succeed(phase, this.#readsEnd ? this.#endClock.now() : 0, Number.NaN)
  }

  /**
   * {@link #settleClosed} for a success of a timed call, with what cannot apply taken out, unless the call was
   * slow, already counted as slow while running, or feeds the adaptive threshold's histogram.
   */
  #succeedTimed(call: TimedCall): void {
    const end = this.#endClock.now()
    const group = call.group
    const elapsed = end - group.start
    if (elapsed > this.#slowMs || group.flagged || this.#histogram !== undefined) {
      this.#settleClosed(call, undefined, end)
      return
    }
    this.#inflight.leave(group)
    this.#succeed(call.phase, end, elapsed)
  }

  /** A fast success: counted, reported, recorded. */
  #succeed(phase: Phase, end: number, elapsed: number): void {
    this.#totals.successes++
    if (this.hasListeners()) this.emit('success', elapsed)
    this.#throttle?.record(end, true)
    if (phase !== this.#phase) return
    this.#counts?.success()
    this.#window.record(end, 0)
    this.#evaluate(this.#exactCallClock ? end : undefined)
  }

  /**
   * The closed path of a timed call without a signal. Its settle handlers need its start time, so they belong
   * to its group, the calls that started at the same clock reading: bound once per group, not per call (on
   * the coarse clock, a group is every call of a millisecond).
   */
  #observeTimed<T>(fn: PolicyFn<T>, start: number): Promise<T> {
    const group = this.#inflight.join(start)
    if (group.onValue === undefined) this.#bindGroup(group)
    this.#inFlight++
    let result: PromiseLike<T> | T
    try {
      result = fn(IDLE_CONTEXT)
    } catch (error) {
      return this.#thrownClosed(error, group)
    }
    return Promise.resolve(result).then(group.onValue, group.onError) as Promise<T>
  }

  /** Binds a group's handlers to the current phase: a transition forgets every group, so it is the group's. */
  #bindGroup(group: CallGroup): void {
    const call: TimedCall = { phase: this.#phase, group }
    group.call = call
    group.onValue = (value) => {
      this.#inFlight--
      if (this.#o.isResultFailure?.(value)) this.#settleClosed(call, { value })
      else this.#succeedTimed(call)
      return value
    }
    group.onError = (error) => {
      this.#inFlight--
      this.#settleClosed(call, this.#errorFailure(error))
      throw error
    }
  }

  /**
   * The closed path of a call with a signal (timed or not): an aborted call is not counted, so its handlers
   * need the signal as well, and are made per call.
   */
  #runClosed<T>(fn: PolicyFn<T>, signal: AbortSignal, start: number): Promise<T> {
    const group = this.#timesCalls ? this.#inflight.join(start) : undefined
    const call: ClosedCall = { phase: this.#phase, group }
    this.#inFlight++
    let result: PromiseLike<T> | T
    try {
      result = fn(contextFor(signal))
    } catch (error) {
      return this.#thrownClosed(error, group, signal)
    }
    return Promise.resolve(result).then(
      (value) => {
        this.#inFlight--
        this.#settleClosed(call, this.#valueFailure(value))
        return value
      },
      (error: unknown) => {
        this.#inFlight--
        if (signal.aborted) this.#ignoreClosed(group)
        else this.#settleClosed(call, this.#errorFailure(error))
        throw error
      },
    )
  }

  /** A closed call its caller aborted: it counts neither way. */
  #ignoreClosed(group: CallGroup | undefined): void {
    if (group !== undefined) this.#inflight.leave(group)
    this.#totals.ignored++
  }

  /** Records a finished closed call; `failure` is undefined for a success. */
  #settleClosed(
    call: ClosedCall,
    failure: FailureReason | undefined,
    end = this.#readsEnd ? this.#endClock.now() : 0,
  ): void {
    const group = call.group
    // false when the in-flight sweep already counted this call as slow: it is not counted twice.
    const uncounted = group === undefined || this.#inflight.leave(group)
    const outcome = this.#report(failure, group === undefined ? Number.NaN : end - group.start, uncounted)
    this.#throttle?.record(end, (outcome & FAILED) === 0)
    if (call.phase !== this.#phase) return
    // A call the in-flight sweep already counted as slow still ends a streak or adds a failure to the counts:
    // they count failures, not slow calls.
    const counted = this.#counts !== undefined && this.#countTrips(outcome & FAILED, end)
    if (uncounted) this.#window.record(end, outcome)
    // Opening reads the exact clock (openUntil, time in state) unless `end` already is exact.
    if (counted) this.#open(this.#exactCallClock ? end : undefined)
    // Evaluated after every call, successes included: the call that reaches minimumCalls may be a success,
    // and in a time window the successes that aged out may leave the rate above the threshold.
    else if (uncounted) this.#evaluate(this.#exactCallClock ? end : undefined)
  }

  /** Feeds a closed call's outcome to the count trips; true when they open the circuit. */
  #countTrips(failed: number, end: number): boolean {
    const counts = this.#counts!
    if (failed === 0) {
      counts.success()
      return false
    }
    // The failure's time only places it in `failureCount.within`, so it may be a tick (up to 1 ms) old.
    return counts.failure(this.#readsEnd ? end : counts.timesFailures ? this.#ticks.now() : 0)
  }

  /** Emits the events and counts totals for a finished call; returns its outcome bits (FAILED, SLOW). */
  #report(failure: FailureReason | undefined, elapsed: number, reportSlow: boolean): number {
    let outcome = failure === undefined ? 0 : FAILED
    if (elapsed > this.#slowMs) outcome |= SLOW
    if (failure === undefined) {
      if (this.#histogram !== undefined) this.#slowMs = this.#histogram.observe(elapsed)
      this.#totals.successes++
      if (this.hasListeners()) this.emit('success', elapsed)
    } else {
      this.#totals.failures++
      this.emit('failure', failure, elapsed)
    }
    if (outcome & SLOW && reportSlow) {
      this.#totals.slowCalls++
      this.emit('slowCall', elapsed, false)
    }
    return outcome
  }

  /** The failure a thrown error is, or undefined when `isFailure` says it is not one (it counts as a success). */
  #errorFailure(error: unknown): FailureReason | undefined {
    return this.#o.isFailure(error) ? { error } : undefined
  }

  /** The failure a returned value is when `isResultFailure` rejects it, undefined otherwise. */
  #valueFailure(value: unknown): FailureReason | undefined {
    return this.#o.isResultFailure?.(value) ? { value } : undefined
  }

  /** `now` is undefined on the untimed closed path: the clock is read only if the circuit opens. */
  #evaluate(now: number | undefined): void {
    const w = this.#window
    if (w.calls < this.#o.minimumCalls) return
    const byFailures = this.#failuresTrip && w.failures / w.calls >= this.#o.failureRateThreshold
    if (byFailures || w.slowCalls / w.calls >= this.#o.slowCallRateThreshold) this.#open(now)
  }

  // --- Other states ------------------------------------------------------------------------------------------

  #refresh(now: number): void {
    const phase = this.#phase
    if (phase.state === CLOSED) {
      if (this.#timesCalls && this.#inflight.sweep(now, this.#slowMs, this.#onSlowInFlight) > 0) this.#evaluate(now)
    } else if (phase.state === OPEN && now >= phase.until) {
      this.#enterHalfOpen(phase, now)
    }
  }

  #executeOther<T>(fn: PolicyFn<T>, signal: AbortSignal | undefined, now: number): Promise<T> {
    const phase = this.#phase
    switch (phase.state) {
      case DISABLED:
        return this.#passthrough(fn, signal)
      case FORCED_OPEN:
        return this.#reject('forced_open', phase.rejection)
      case OPEN:
        if (now < phase.until) return this.#reject('open', phase.rejection)
        return this.#probe(this.#enterHalfOpen(phase, now), fn, signal, now)
    }
    // HALF_OPEN: execute() runs CLOSED calls itself.
    return this.#probe(phase as HalfOpen, fn, signal, now)
  }

  #enterHalfOpen(after: Open, now: number): HalfOpen {
    const phase = halfOpen(now, after)
    this.#transition(phase)
    return phase
  }

  /** Runs `fn` as a half-open probe if a permit is free, rejects it otherwise. */
  #probe<T>(phase: HalfOpen, fn: PolicyFn<T>, signal: AbortSignal | undefined, start: number): Promise<T> {
    if (!this.#probes.tryAcquire()) return this.#reject('half_open', phase.rejection)
    this.#inFlight++
    return this.#probes.run(fn, signal, (end, result) => this.#settleProbe(phase, start, end, result))
  }

  /**
   * A probe ended. Its permit is released whatever its phase (see {@link HalfOpenProbes}), and whatever the
   * reporting throws; its outcome counts only in its own phase, and an aborted probe decides nothing.
   */
  #settleProbe(phase: HalfOpen, start: number, end: RaceEnd, result: unknown): void {
    const now = this.#clock.now()
    this.#inFlight--
    let outcome: number
    try {
      if (end === ABORTED) {
        this.#totals.ignored++
        return
      }
      const failure =
        end === TIMED_OUT ? { error: result } : end === VALUE ? this.#valueFailure(result) : this.#errorFailure(result)
      outcome = this.#report(failure, now - start, true)
    } finally {
      this.#probes.release()
    }
    if (phase !== this.#phase) return
    if (outcome !== 0) this.#open(now)
    else if (this.#probes.succeeded()) {
      this.#consecutiveOpens = 0
      this.#transition(closed(now))
    }
  }

  #reject(reason: RejectionReason, rejection: Rejection): Promise<never> {
    this.#countRejection(reason)
    return rejection.reject()
  }

  #countRejection(reason: RejectionReason): void {
    if (reason === 'throttled') this.#totals.throttled++
    else this.#totals.rejections++
    if (this.hasListeners()) this.emit('rejection', reason)
  }

  async #passthrough<T>(fn: PolicyFn<T>, signal: AbortSignal | undefined): Promise<T> {
    return fn(contextFor(signal))
  }

  #open(now = this.#clock.now()): void {
    this.#consecutiveOpens++
    const until = now + this.#o.openDuration(this.#consecutiveOpens)
    this.#transition(open(now, until, this.#openRejection(until)))
  }

  /** One error (and one outcome) per open period, reused for every rejection in it. */
  #openRejection(openUntil: number): Rejection {
    return new Rejection(new BrokenCircuitError({ context: { name: this.name, openUntil } }))
  }

  #transition(next: Phase): void {
    const from = this.#phase.state
    this.#phase = next
    this.#inflight.clear()
    if (next.state === CLOSED) {
      this.#bindClosed(next)
      this.#window.reset()
      this.#counts?.reset()
      this.#throttle?.reset()
    } else if (next.state === HALF_OPEN) {
      this.#probes.begin()
    }
    if (from !== next.state) this.emit('stateChange', NAMES[from]!, NAMES[next.state]!)
  }

  #restore(s: BreakerSnapshot): void {
    this.#consecutiveOpens = s.consecutiveOpens
    if (s.slowCallDuration !== null && this.#timesCalls) this.#slowMs = s.slowCallDuration
    if (s.state === 'closed') {
      this.#phase = closed(s.since)
      this.#bindClosed(this.#phase)
      this.#window.restore(s.window)
      if (s.counts !== undefined) this.#counts?.restore(s.counts)
    } else if (s.state === 'forced_open') this.isolate()
    else if (s.state === 'disabled') this.#phase = disabled(s.since)
    else {
      // HALF_OPEN restarts as OPEN until the saved time: its probes did not survive the restart.
      const until = s.openUntil as number
      this.#phase = open(s.since, until, this.#openRejection(until))
    }
  }
}

const toSuccess = <T>(value: T): Outcome<T> => ({ ok: true, value })
const toFailure = (error: unknown): Outcome<never> => ({ ok: false, error })

/**
 * Creates a circuit breaker: counts failures (and, with `slowCallDuration`, slow calls) over a sliding
 * window and, past a threshold, opens to reject calls at once, probes the dependency in HALF_OPEN, and
 * closes when it has recovered. `failureCount` and `consecutiveFailures` open it on counts as well.
 *
 * @example
 * ```ts
 * // "3 failures in 30 s, open 60 s", whatever the successes
 * const payments = circuitBreaker({ failureCount: { threshold: 3, within: '30s' }, openDuration: '60s' })
 * ```
 * @example
 * ```ts
 * const breaker = circuitBreaker({
 *   failureRateThreshold: 0.5,
 *   slowCallDuration: '2s',
 *   minimumCalls: 10,
 *   window: { type: 'time', duration: '10s', buckets: 10 },
 *   openDuration: { initial: '5s', max: '2m' },
 * })
 * breaker.on('stateChange', (from, to) => log.warn({ from, to }, 'prices breaker'))
 * const prices = await breaker.execute(({ signal }) => fetchPrices({ signal }))
 * ```
 */
export function circuitBreaker(options?: CircuitBreakerOptions): CircuitBreaker {
  return new CircuitBreaker(options)
}
