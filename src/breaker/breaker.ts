import { toAbortedError } from '../core/abort.js'
import { type Clock, systemClock } from '../core/clock.js'
import { TypedEmitter } from '../core/events.js'
import { LatencyHistogram } from './adaptive.js'
import { TickClock } from './clock-cache.js'
import { contextFor, IDLE_CONTEXT } from './context.js'
import { CountTrips } from './count-trips.js'
import { BrokenCircuitError, IsolatedCircuitError, ThrottledError } from './errors.js'
import type { BreakerEvents, BreakerMetrics, RejectionReason } from './events.js'
import { type CallGroup, InFlightTracker } from './in-flight.js'
import { keepingAlive } from './keep-alive.js'
import { type CircuitBreakerOptions, type ResolvedBreakerOptions, resolveBreakerOptions } from './options.js'
import { CallPermit, type PermitHost } from './permit.js'
import { IGNORED, type ProbeHost, runProbe } from './probe.js'
import { Rejection } from './reject.js'
import { type BreakerSnapshot, validateSnapshot } from './snapshot.js'
import { SreThrottle } from './throttle.js'
import type { CircuitState, Outcome, Policy, PolicyFn } from './types.js'
import { CountWindow, FAILED, SLOW, type SlidingWindow, TimeWindow } from './window.js'

const CLOSED = 0
const OPEN = 1
const HALF_OPEN = 2
const FORCED_OPEN = 3
const DISABLED = 4
/** A fixed slow-call threshold from which calls are timed with the millisecond tick clock (see the constructor). */
const COARSE_THRESHOLD_MS = 100
const NAMES: readonly CircuitState[] = ['closed', 'open', 'half_open', 'forced_open', 'disabled']

/**
 * A circuit breaker (see {@link circuitBreaker}).
 *
 * The closed path does only what the options need, decided once at construction: with slow-call detection
 * a call reads the start and end time (from the millisecond tick clock for a fixed threshold of 100 ms or
 * more on the system clock, the exact clock otherwise) and counts itself in and out of its in-flight group;
 * without it, no clock read at all for a count window. Never a timer, never a closure per call without a
 * signal. OPEN -> HALF_OPEN
 * is decided lazily when a call arrives or the state is read, so an open breaker holds no timer either;
 * only half-open probes (at most `permittedCalls`) get a deadline timer each.
 */
export class CircuitBreaker extends TypedEmitter<BreakerEvents> implements Policy {
  readonly name: string
  readonly #o: ResolvedBreakerOptions
  readonly #clock: Clock
  /**
   * The clock for checks that tolerate time up to a millisecond old: a {@link TickClock} on the system
   * clock, the clock itself otherwise (so fake-clock tests see exact time).
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
  /** Calls are timed (start and end): slow-call detection or adaptive options are on. */
  readonly #timesCalls: boolean
  /** The end of a call is read from the clock: timed calls, a time window, or throttling. */
  readonly #readsEnd: boolean
  readonly #failuresTrip: boolean
  readonly #throttled: Rejection
  readonly #probeHost: ProbeHost
  readonly #onSlowInFlight = (elapsed: number, now: number) => {
    this.#window.record(now, SLOW)
    this.#totals.slowCalls++
    this.emit('slowCall', elapsed, true)
  }
  /** Where the permits of {@link admit} report: as a closed call's own `then` handlers would. */
  readonly #permitHost: PermitHost = {
    settle: (group, generation, failed, payload) => {
      this.#inFlight--
      if (failed) this.#settleClosed(group, generation, this.#classifyError(payload), payload)
      else this.#settleValue(group, generation, payload)
    },
  }
  #state = CLOSED
  /** Bumped at every transition: a call settling under an older generation only reports, it decides nothing. */
  #generation = 0
  /**
   * The settle handlers of an untimed closed call without a signal, bound to the current generation (see
   * {@link #bindClosed}): such a call needs no per-call data, so it costs `fn()` and one `then`, no closure.
   */
  #onClosedValue!: (value: unknown) => unknown
  #onClosedError!: (error: unknown) => never
  #since: number
  #openUntil = 0
  #consecutiveOpens = 0
  /** The slow-call threshold in force; +Infinity when slow-call detection is off. */
  #slowMs: number
  #rejection!: Rejection
  /** What `tryExecute` resolves with while the circuit rejects: one shared promise per open period. */
  #rejectedOutcome!: Promise<Outcome<never>>
  /** Probes holding a permit, whatever their phase: a permit is held until the probe settles. */
  #probes = 0
  #probeSuccesses = 0
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
    this.#timesCalls = o.slowCallDuration !== undefined || o.adaptive !== undefined
    this.#readsEnd = this.#timesCalls || o.window.type === 'time' || o.throttling !== undefined
    // An untimed call's end time only picks a window (or throttle) bucket, so on the system clock it may be
    // up to a millisecond old. A timed call's duration may be too when the threshold is fixed and counted in
    // hundreds of milliseconds or more: a millisecond is then within 1 % of it, and the two exact clock reads
    // a timed call would cost otherwise (about 100 ns each on some virtual machines) are most of its price.
    // The learned threshold of adaptiveSlowCall keeps the exact clock: its histogram wants sub-ms latencies.
    this.#ticks = this.#clock === systemClock ? new TickClock(this.#clock) : this.#clock
    const coarse = o.adaptive === undefined && (o.slowCallDuration ?? 0) >= COARSE_THRESHOLD_MS
    this.#callClock = coarse ? this.#ticks : this.#clock
    this.#endClock = this.#timesCalls ? this.#callClock : this.#ticks
    this.#exactCallClock = this.#timesCalls && this.#callClock === this.#clock
    this.#failuresTrip = o.throttling?.mode !== 'instead-of-open'
    this.#throttled = new Rejection(new ThrottledError({ name: this.name }))
    this.#setRejection(new BrokenCircuitError(undefined, { name: this.name }))
    this.#probeHost = {
      name: this.name,
      // A probe's caller waits on its deadline timer: it keeps the process alive.
      clock: keepingAlive(this.#clock),
      deadline: o.halfOpenDeadline,
      classifyValue: (value) => this.#classifyValue(value),
      classifyError: (error) => this.#classifyError(error),
      settle: (generation, failed, payload, start) => this.#settleProbe(generation, failed, payload, start),
    }
    this.#since = this.#clock.now()
    this.#bindClosed()
    if (o.initialState !== undefined) this.#restore(validateSnapshot(o.initialState))
  }

  /** The current state. Reading it applies transitions that are due (OPEN -> HALF_OPEN, a hung call tripping). */
  get state(): CircuitState {
    this.#refresh(this.#clock.now())
    return NAMES[this.#state]!
  }

  /**
   * Runs `fn` if the circuit lets it through, recording its outcome; rejects at once with a
   * {@link BrokenCircuitError} (`E_CIRCUIT_OPEN`, or `E_CIRCUIT_ISOLATED` when forced open) otherwise.
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(toAbortedError(signal))
    if (this.#state === CLOSED) {
      let start = 0
      if (this.#timesCalls) {
        start = this.#callClock.now()
        if (this.#inflight.sweep(start, this.#slowMs, this.#onSlowInFlight) > 0)
          this.#evaluate(this.#exactCallClock ? start : undefined)
      }
      if (this.#state === CLOSED) {
        if (this.#throttle?.shouldReject(this.#clock.now())) return this.#reject('throttled', this.#throttled)
        if (signal !== undefined) return this.#runClosed(fn, signal, start)
        return this.#timesCalls ? this.#observeTimed(fn, start) : this.#observeClosed(fn)
      }
    }
    // Rejecting in OPEN needs no exact time: a tick clock lags, so it can only delay HALF_OPEN by up to a
    // millisecond, never start it early; everything past this check reads the exact clock.
    if (this.#state === OPEN && this.#ticks.now() < this.#openUntil) return this.#reject('open', this.#rejection)
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
    if (this.#state !== CLOSED || this.#throttle !== undefined) return undefined
    let start = 0
    if (this.#timesCalls) {
      start = this.#callClock.now()
      if (this.#inflight.sweep(start, this.#slowMs, this.#onSlowInFlight) > 0) {
        this.#evaluate(this.#exactCallClock ? start : undefined)
        if (this.#state !== CLOSED) return undefined
      }
    }
    this.#inFlight++
    const group = this.#timesCalls ? this.#inflight.join(start) : undefined
    return new CallPermit(this.#permitHost, group, this.#generation)
  }

  /**
   * Like {@link execute}, but resolves with an outcome instead of rejecting. While the circuit is open a
   * rejection costs no allocation: every rejected call gets the same resolved promise.
   */
  tryExecute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<Outcome<T>> {
    const state = this.#state
    if (state === FORCED_OPEN || (state === OPEN && this.#ticks.now() < this.#openUntil)) {
      this.#countRejection(state === OPEN ? 'open' : 'forced_open')
      return this.#rejectedOutcome
    }
    return this.execute(fn, signal).then(toSuccess, toFailure) as Promise<Outcome<T>>
  }

  /** Forces the circuit open (FORCED_OPEN) until `reset()`: calls are rejected with `E_CIRCUIT_ISOLATED`. */
  isolate(): void {
    this.#setRejection(new IsolatedCircuitError({ name: this.name }))
    this.#transition(FORCED_OPEN, this.#clock.now())
  }

  /** Lets every call through without recording anything (DISABLED) until `reset()`. */
  disable(): void {
    this.#transition(DISABLED, this.#clock.now())
  }

  /** Closes the circuit with an empty window, whatever the state, and forgets consecutive openings. */
  reset(): void {
    this.#consecutiveOpens = 0
    this.#transition(CLOSED, this.#clock.now())
  }

  /** A snapshot of the state, rates and counters. */
  metrics(): BreakerMetrics {
    const now = this.#clock.now()
    this.#refresh(now)
    const w = this.#window
    w.refresh(now)
    return {
      name: this.name,
      state: NAMES[this.#state]!,
      failureRate: w.calls === 0 ? 0 : w.failures / w.calls,
      slowCallRate: w.calls === 0 ? 0 : w.slowCalls / w.calls,
      calls: w.calls,
      failures: w.failures,
      slowCalls: w.slowCalls,
      inFlight: this.#inFlight,
      probesInFlight: this.#probes,
      timeInState: now - this.#since,
      consecutiveOpens: this.#consecutiveOpens,
      slowCallDuration: Number.isFinite(this.#slowMs) ? this.#slowMs : null,
      throttleProbability: this.#throttle?.probability(now) ?? 0,
      totals: { ...this.#totals },
    }
  }

  /** The state to persist and restore later through the `initialState` option. */
  toJSON(): BreakerSnapshot {
    const m = this.metrics()
    const open = m.state === 'open' || m.state === 'half_open'
    return {
      version: 1,
      state: m.state,
      since: this.#since,
      openUntil: open ? this.#openUntil : null,
      consecutiveOpens: m.consecutiveOpens,
      slowCallDuration: m.slowCallDuration,
      window: this.#window.toJSON(),
      ...(this.#counts && { counts: this.#counts.toJSON() }),
    }
  }

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
   * Binds the closed-call handlers to the current generation. Called at construction and at every transition,
   * so a call that settles after a transition reports under the generation it started in, as
   * {@link #runClosed} does with its own local.
   */
  #bindClosed(): void {
    const generation = this.#generation
    this.#onClosedValue = (value) => {
      this.#inFlight--
      if (this.#o.isResultFailure?.(value)) this.#settleClosed(undefined, generation, FAILED, new FailedResult(value))
      else this.#succeedUntimed(generation)
      return value
    }
    this.#onClosedError = (error) => {
      this.#inFlight--
      this.#settleClosedError(generation, error)
      throw error
    }
  }

  /**
   * `fn` threw synchronously: settled at once, as its promise's rejection would be, so the state is up to date
   * when execute() returns; async so that anything thrown while settling rejects the returned promise too.
   */
  async #thrownClosed(error: unknown, group?: CallGroup, signal?: AbortSignal): Promise<never> {
    this.#inFlight--
    this.#settleClosed(group, this.#generation, signal?.aborted ? IGNORED : this.#classifyError(error), error)
    throw error
  }

  /** {@link #settleClosed} for a success of an untimed call, with what cannot apply taken out. */
  #succeedUntimed(generation: number): void {
    this.#succeed(generation, this.#readsEnd ? this.#endClock.now() : 0, Number.NaN)
  }

  /**
   * {@link #settleClosed} for a success of a timed call, with what cannot apply taken out, unless the call was
   * slow, already counted as slow while running, or feeds the adaptive threshold's histogram.
   */
  #succeedTimed(group: CallGroup, generation: number, value: unknown): void {
    const end = this.#endClock.now()
    const elapsed = end - group.start
    if (elapsed > this.#slowMs || group.flagged || this.#histogram !== undefined) {
      this.#settleClosed(group, generation, 0, value, end)
      return
    }
    this.#inflight.leave(group)
    this.#succeed(generation, end, elapsed)
  }

  /** A fast success: counted, reported, recorded. */
  #succeed(generation: number, end: number, elapsed: number): void {
    this.#totals.successes++
    if (this.#listened()) this.emit('success', elapsed)
    this.#throttle?.record(end, true)
    if (generation !== this.#generation) return
    this.#counts?.success()
    this.#window.record(end, 0)
    this.#evaluate(this.#exactCallClock ? end : undefined)
  }

  #settleClosedError(generation: number, error: unknown): void {
    this.#settleClosed(undefined, generation, this.#classifyError(error), error)
  }

  /**
   * The closed path of a timed call without a signal. Its settle handlers need its start time, so they belong
   * to its group, the calls that started at the same clock reading: bound once per group, not per call (on
   * the tick clock, a group is every call of a millisecond).
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

  /** Binds a group's handlers to the current generation: a transition forgets every group, so it is the group's. */
  #bindGroup(group: CallGroup): void {
    const generation = this.#generation
    group.onValue = (value) => {
      this.#inFlight--
      if (this.#o.isResultFailure?.(value)) this.#settleClosed(group, generation, FAILED, new FailedResult(value))
      else this.#succeedTimed(group, generation, value)
      return value
    }
    group.onError = (error) => {
      this.#inFlight--
      this.#settleClosed(group, generation, this.#classifyError(error), error)
      throw error
    }
  }

  /**
   * The closed path of a call with a signal (timed or not): an aborted call is not counted, so its handlers
   * need the signal as well, and are made per call.
   */
  #runClosed<T>(fn: PolicyFn<T>, signal: AbortSignal, start: number): Promise<T> {
    const generation = this.#generation
    const group = this.#timesCalls ? this.#inflight.join(start) : undefined
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
        this.#settleValue(group, generation, value)
        return value
      },
      (error: unknown) => {
        this.#inFlight--
        this.#settleClosed(group, generation, signal.aborted ? IGNORED : this.#classifyError(error), error)
        throw error
      },
    )
  }

  #settleValue(group: CallGroup | undefined, generation: number, value: unknown): void {
    const failed = this.#o.isResultFailure?.(value) ? FAILED : 0
    this.#settleClosed(group, generation, failed, failed ? new FailedResult(value) : value)
  }

  /** `group` is the call's in-flight group when it is timed, undefined otherwise. */
  #settleClosed(
    group: CallGroup | undefined,
    generation: number,
    failed: number,
    payload: unknown,
    end = this.#readsEnd ? this.#endClock.now() : 0,
  ): void {
    // false when the in-flight sweep already counted this call as slow: it is not counted twice.
    const uncounted = group === undefined || this.#inflight.leave(group)
    const outcome = this.#report(failed, group === undefined ? Number.NaN : end - group.start, payload, uncounted)
    if (outcome === IGNORED) return
    this.#throttle?.record(end, (outcome & FAILED) === 0)
    if (generation !== this.#generation) return
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

  /** Emits the events and counts totals for a finished call; returns its outcome bits (or IGNORED). */
  #report(failed: number, elapsed: number, payload: unknown, reportSlow: boolean): number {
    if (failed === IGNORED) {
      this.#totals.ignored++
      return IGNORED
    }
    let outcome = failed
    if (elapsed > this.#slowMs) outcome |= SLOW
    if (failed === 0) {
      if (this.#histogram !== undefined) this.#slowMs = this.#histogram.observe(elapsed)
      this.#totals.successes++
      if (this.#listened()) this.emit('success', elapsed)
    } else {
      this.#totals.failures++
      this.emit('failure', payload instanceof FailedResult ? { value: payload.value } : { error: payload }, elapsed)
    }
    if (outcome & SLOW && reportSlow) {
      this.#totals.slowCalls++
      this.emit('slowCall', elapsed, false)
    }
    return outcome
  }

  /**
   * False only when no listener at all is registered, from eventemitter3's own count: its emit looks the
   * event up in a dictionary-mode object, which costs more than the rest of a rejection. Should a future
   * eventemitter3 drop the field, this reads undefined and every event is emitted, as before.
   */
  #listened(): boolean {
    return (this as unknown as { _eventsCount?: number })._eventsCount !== 0
  }

  #classifyError(error: unknown): number {
    return this.#o.isFailure(error) ? FAILED : 0
  }

  #classifyValue(value: unknown): [number, unknown] {
    return this.#o.isResultFailure?.(value) ? [FAILED, new FailedResult(value)] : [0, value]
  }

  /** `now` is undefined on the untimed closed path: the clock is read only if the circuit opens. */
  #evaluate(now: number | undefined): void {
    const w = this.#window
    if (w.calls < this.#o.minimumCalls) return
    const byFailures = this.#failuresTrip && w.failures / w.calls >= this.#o.failureRateThreshold
    if (byFailures || w.slowCalls / w.calls >= this.#o.slowCallRateThreshold) this.#open(now)
  }

  #refresh(now: number): void {
    if (this.#state === CLOSED) {
      if (this.#timesCalls && this.#inflight.sweep(now, this.#slowMs, this.#onSlowInFlight) > 0) this.#evaluate(now)
    } else if (this.#state === OPEN && now >= this.#openUntil) {
      this.#transition(HALF_OPEN, now)
    }
  }

  #executeOther<T>(fn: PolicyFn<T>, signal: AbortSignal | undefined, now: number): Promise<T> {
    switch (this.#state) {
      case DISABLED:
        return this.#passthrough(fn, signal)
      case FORCED_OPEN:
        return this.#reject('forced_open', this.#rejection)
      case OPEN:
        if (now < this.#openUntil) return this.#reject('open', this.#rejection)
        this.#transition(HALF_OPEN, now)
    }
    const permitted = this.#o.permittedCalls
    if (this.#probes >= permitted || this.#probes + this.#probeSuccesses >= permitted)
      return this.#reject('half_open', this.#rejection)
    this.#probes++
    this.#inFlight++
    return runProbe(this.#probeHost, this.#generation, fn, signal, now)
  }

  #reject(reason: RejectionReason, rejection: Rejection): Promise<never> {
    this.#countRejection(reason)
    return rejection.reject()
  }

  #countRejection(reason: RejectionReason): void {
    if (reason === 'throttled') this.#totals.throttled++
    else this.#totals.rejections++
    if (this.#listened()) this.emit('rejection', reason)
  }

  async #passthrough<T>(fn: PolicyFn<T>, signal: AbortSignal | undefined): Promise<T> {
    return fn(contextFor(signal))
  }

  #settleProbe(generation: number, failed: number, payload: unknown, start: number): void {
    const now = this.#clock.now()
    this.#inFlight--
    const outcome = this.#report(failed, now - start, payload, true)
    // Permits are released whatever the phase: a probe from an earlier half-open phase (still running after
    // the circuit reopened) keeps its permit until it settles or hits its deadline, so probes in flight never
    // exceed permittedCalls, across phases too. Its outcome, though, only counts in its own phase.
    this.#probes--
    if (generation !== this.#generation || outcome === IGNORED) return
    if (outcome !== 0) this.#open(now)
    else if (++this.#probeSuccesses >= this.#o.permittedCalls) {
      this.#consecutiveOpens = 0
      this.#transition(CLOSED, now)
    }
  }

  #open(now = this.#clock.now()): void {
    this.#consecutiveOpens++
    this.#openUntil = now + this.#o.openDuration(this.#consecutiveOpens)
    this.#setRejection(new BrokenCircuitError(undefined, { name: this.name, openUntil: this.#openUntil }))
    this.#transition(OPEN, now)
  }

  /** One error (and one outcome) per open period, reused for every rejection in it. */
  #setRejection(error: BrokenCircuitError): void {
    this.#rejection = new Rejection(error)
    this.#rejectedOutcome = Promise.resolve(Object.freeze({ ok: false as const, error }))
  }

  #transition(to: number, now: number): void {
    const from = this.#state
    this.#state = to
    this.#generation++
    this.#since = now
    this.#probeSuccesses = 0
    this.#inflight.clear()
    this.#bindClosed()
    if (to === CLOSED) {
      this.#window.reset()
      this.#counts?.reset()
      this.#throttle?.reset()
    }
    if (from !== to) this.emit('stateChange', NAMES[from]!, NAMES[to]!)
  }

  #restore(s: BreakerSnapshot): void {
    this.#since = s.since
    this.#consecutiveOpens = s.consecutiveOpens
    if (s.slowCallDuration !== null && this.#timesCalls) this.#slowMs = s.slowCallDuration
    if (s.state === 'closed') {
      this.#window.restore(s.window)
      if (s.counts !== undefined) this.#counts?.restore(s.counts)
    } else if (s.state === 'forced_open') this.isolate()
    else if (s.state === 'disabled') this.#state = DISABLED
    else {
      // HALF_OPEN restarts as OPEN until the saved time: its probes did not survive the restart.
      this.#state = OPEN
      this.#openUntil = s.openUntil as number
      this.#setRejection(new BrokenCircuitError(undefined, { name: this.name, openUntil: this.#openUntil }))
    }
  }
}

const toSuccess = <T>(value: T): Outcome<T> => ({ ok: true, value })
const toFailure = (error: unknown): Outcome<never> => ({ ok: false, error })

/** Marks a returned value that `isResultFailure` rejected, so the failure event can say `{ value }`. */
class FailedResult {
  constructor(readonly value: unknown) {}
}

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
