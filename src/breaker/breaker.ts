import { toAbortedError } from '../core/abort.js'
import type { Clock } from '../core/clock.js'
import { TimeoutError } from '../core/errors.js'
import { TypedEmitter } from '../core/events.js'
import { LatencyHistogram } from './adaptive.js'
import { contextFor, invoke, linkSignal } from './context.js'
import { BrokenCircuitError, IsolatedCircuitError, ThrottledError } from './errors.js'
import type { BreakerEvents, BreakerMetrics, RejectionReason } from './events.js'
import { InFlightTracker } from './in-flight.js'
import { type CircuitBreakerOptions, type ResolvedBreakerOptions, resolveBreakerOptions } from './options.js'
import { type BreakerSnapshot, validateSnapshot } from './snapshot.js'
import { SreThrottle } from './throttle.js'
import type { CircuitState, Outcome, Policy, PolicyFn } from './types.js'
import { CountWindow, FAILED, SLOW, type SlidingWindow, TimeWindow } from './window.js'

const CLOSED = 0
const OPEN = 1
const HALF_OPEN = 2
const FORCED_OPEN = 3
const DISABLED = 4
const NAMES: readonly CircuitState[] = ['closed', 'open', 'half_open', 'forced_open', 'disabled']
/** A probe outcome that decides nothing (its caller aborted it). */
const IGNORED = -1

/**
 * A circuit breaker (see {@link circuitBreaker}).
 *
 * Design of the hot path: in CLOSED a call costs two clock reads, a few typed-array writes (the window ring
 * and the in-flight ring) and one async frame; no timer, no closure. Transitions out of OPEN are decided
 * lazily when a call arrives or the state is read, so an open breaker holds no timer either. Only
 * half-open probes (at most `permittedCalls`) get a deadline timer each.
 */
export class CircuitBreaker extends TypedEmitter<BreakerEvents> implements Policy {
  readonly name: string
  readonly #o: ResolvedBreakerOptions
  readonly #clock: Clock
  readonly #window: SlidingWindow
  readonly #inflight: InFlightTracker
  readonly #histogram: LatencyHistogram | undefined
  readonly #throttle: SreThrottle | undefined
  readonly #failuresTrip: boolean
  readonly #throttled: ThrottledError
  readonly #onSlowInFlight = (elapsed: number, now: number) => {
    this.#window.record(now, SLOW)
    this.#totals.slowCalls++
    this.emit('slowCall', elapsed, true)
  }
  #state = CLOSED
  /** Bumped at every transition: a call settling under an older generation only reports, it decides nothing. */
  #generation = 0
  #since: number
  #openUntil = 0
  #consecutiveOpens = 0
  #slowMs: number
  #rejection: BrokenCircuitError
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
    this.#slowMs = o.slowCallDuration
    this.#histogram = o.adaptive && new LatencyHistogram(o.adaptive, o.slowCallDuration)
    this.#throttle = o.throttling && new SreThrottle(o.throttling)
    this.#failuresTrip = o.throttling?.mode !== 'instead-of-open'
    this.#throttled = new ThrottledError({ name: this.name })
    this.#rejection = new BrokenCircuitError(undefined, { name: this.name })
    this.#since = this.#clock.now()
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
    const now = this.#clock.now()
    if (this.#state === CLOSED) {
      if (this.#inflight.sweep(now, this.#slowMs, this.#onSlowInFlight) > 0) this.#evaluate(now)
      if (this.#state === CLOSED) {
        if (this.#throttle?.shouldReject(now)) return this.#reject('throttled', this.#throttled)
        return this.#runClosed(fn, signal, now)
      }
    }
    return this.#executeOther(fn, signal, now)
  }

  /** Like {@link execute}, but resolves with an outcome instead of rejecting; a rejection by the breaker allocates nothing. */
  tryExecute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<Outcome<T>> {
    return this.execute(fn, signal).then(
      (value) => ({ ok: true, value }),
      (error: unknown) => ({ ok: false, error }),
    )
  }

  /** Forces the circuit open (FORCED_OPEN) until `reset()`: calls are rejected with `E_CIRCUIT_ISOLATED`. */
  isolate(): void {
    this.#rejection = new IsolatedCircuitError({ name: this.name })
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
      slowCallDuration: this.#slowMs,
      throttleProbability: this.#throttle?.probability(now) ?? 0,
      totals: { ...this.#totals },
    }
  }

  /** The state to persist and restore later through the `initialState` option. */
  toJSON(): BreakerSnapshot {
    const now = this.#clock.now()
    this.#refresh(now)
    this.#window.refresh(now)
    const open = this.#state === OPEN || this.#state === HALF_OPEN
    return {
      version: 1,
      state: NAMES[this.#state]!,
      since: this.#since,
      openUntil: open ? this.#openUntil : null,
      consecutiveOpens: this.#consecutiveOpens,
      slowCallDuration: this.#slowMs,
      window: this.#window.toJSON(),
    }
  }

  async #runClosed<T>(fn: PolicyFn<T>, signal: AbortSignal | undefined, start: number): Promise<T> {
    const generation = this.#generation
    const seq = this.#inflight.add(start)
    this.#inFlight++
    let value: T
    try {
      value = await fn(contextFor(signal))
    } catch (error) {
      this.#inFlight--
      this.#settleClosed(seq, generation, start, signal?.aborted ? IGNORED : this.#classifyError(error), error)
      throw error
    }
    this.#inFlight--
    const failed = this.#classifyValue(value)
    this.#settleClosed(seq, generation, start, failed, failed ? new FailedResult(value) : value)
    return value
  }

  #settleClosed(seq: number, generation: number, start: number, failed: number, payload: unknown): void {
    const end = this.#clock.now()
    const elapsed = end - start
    // false when the in-flight sweep already counted this call as slow: it is not counted twice.
    const uncounted = this.#inflight.complete(seq)
    const outcome = this.#report(failed, elapsed, payload, uncounted)
    if (outcome === IGNORED) return
    this.#throttle?.record(end, (outcome & FAILED) === 0)
    if (!uncounted || generation !== this.#generation) return
    this.#window.record(end, outcome)
    // Evaluated after every call, successes included: the call that reaches minimumCalls may be a success,
    // and in a time window the successes that aged out may leave the rate above the threshold.
    this.#evaluate(end)
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
      this.emit('success', elapsed)
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

  #classifyError(error: unknown): number {
    return this.#o.isFailure(error) ? FAILED : 0
  }

  #classifyValue(value: unknown): number {
    return this.#o.isResultFailure?.(value) ? FAILED : 0
  }

  #evaluate(now: number): void {
    const w = this.#window
    if (w.calls < this.#o.minimumCalls) return
    const byFailures = this.#failuresTrip && w.failures / w.calls >= this.#o.failureRateThreshold
    if (byFailures || w.slowCalls / w.calls >= this.#o.slowCallRateThreshold) this.#open(now)
  }

  #refresh(now: number): void {
    if (this.#state === CLOSED) {
      if (this.#inflight.sweep(now, this.#slowMs, this.#onSlowInFlight) > 0) this.#evaluate(now)
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
    return this.#runProbe(fn, signal, now)
  }

  #reject(reason: RejectionReason, error: Error): Promise<never> {
    if (reason === 'throttled') this.#totals.throttled++
    else this.#totals.rejections++
    this.emit('rejection', reason)
    return Promise.reject(error)
  }

  async #passthrough<T>(fn: PolicyFn<T>, signal: AbortSignal | undefined): Promise<T> {
    return fn(contextFor(signal))
  }

  /**
   * A half-open probe. Its permit is released exactly once (the `settled` flag), by whichever comes first:
   * the function settling, the caller aborting (the probe then decides nothing), or the deadline (the probe
   * counts as failed, its signal is aborted and its caller rejected with a TimeoutError).
   */
  #runProbe<T>(fn: PolicyFn<T>, signal: AbortSignal | undefined, start: number): Promise<T> {
    const generation = this.#generation
    this.#probes++
    this.#inFlight++
    const controller = new AbortController()
    const unlink = linkSignal(signal, controller)
    return new Promise<T>((resolve, reject) => {
      let settled = false
      const finish = (failed: number, payload: unknown): boolean => {
        if (settled) return false
        settled = true
        this.#clock.clearTimeout(timer)
        unlink()
        signal?.removeEventListener('abort', onAbort)
        this.#inFlight--
        const outcome = this.#report(failed, this.#clock.now() - start, payload, true)
        this.#settleProbe(generation, outcome)
        return true
      }
      const onAbort = () => {
        if (!finish(IGNORED, undefined)) return
        controller.abort((signal as AbortSignal).reason)
        reject(toAbortedError(signal as AbortSignal))
      }
      const timer = this.#clock.setTimeout(() => {
        const error = new TimeoutError(`A half-open probe of '${this.name}' ran past its deadline`, {
          name: this.name,
          deadline: this.#o.halfOpenDeadline,
        })
        if (!finish(FAILED, error)) return
        controller.abort(error)
        reject(error)
      }, this.#o.halfOpenDeadline)
      signal?.addEventListener('abort', onAbort, { once: true })
      invoke(fn, { signal: controller.signal, attempt: 0 }).then(
        (value) => {
          const failed = this.#classifyValue(value)
          if (finish(failed, failed ? new FailedResult(value) : value)) resolve(value)
        },
        (error: unknown) => {
          if (finish(this.#classifyError(error), error)) reject(error)
        },
      )
    })
  }

  #settleProbe(generation: number, outcome: number): void {
    // Permits are released whatever the phase: a probe from an earlier half-open phase (still running after
    // the circuit reopened) keeps its permit until it settles or hits its deadline, so probes in flight never
    // exceed permittedCalls, across phases too. Its outcome, though, only counts in its own phase.
    this.#probes--
    if (generation !== this.#generation || outcome === IGNORED) return
    const now = this.#clock.now()
    if (outcome !== 0) this.#open(now)
    else if (++this.#probeSuccesses >= this.#o.permittedCalls) {
      this.#consecutiveOpens = 0
      this.#transition(CLOSED, now)
    }
  }

  #open(now: number): void {
    this.#consecutiveOpens++
    this.#openUntil = now + this.#o.openDuration(this.#consecutiveOpens)
    // One error per open period, reused for every rejection in it: rejecting allocates nothing.
    this.#rejection = new BrokenCircuitError(undefined, { name: this.name, openUntil: this.#openUntil })
    this.#transition(OPEN, now)
  }

  #transition(to: number, now: number): void {
    const from = this.#state
    this.#state = to
    this.#generation++
    this.#since = now
    this.#probeSuccesses = 0
    this.#inflight.clear()
    if (to === CLOSED) {
      this.#window.reset()
      this.#throttle?.reset()
    }
    if (from !== to) this.emit('stateChange', NAMES[from]!, NAMES[to]!)
  }

  #restore(s: BreakerSnapshot): void {
    this.#since = s.since
    this.#consecutiveOpens = s.consecutiveOpens
    this.#slowMs = s.slowCallDuration
    if (s.state === 'closed') this.#window.restore(s.window)
    else if (s.state === 'forced_open') this.isolate()
    else if (s.state === 'disabled') this.#state = DISABLED
    else {
      // HALF_OPEN restarts as OPEN until the saved time: its probes did not survive the restart.
      this.#state = OPEN
      this.#openUntil = s.openUntil as number
      this.#rejection = new BrokenCircuitError(undefined, { name: this.name, openUntil: this.#openUntil })
    }
  }
}

/** Marks a returned value that `isResultFailure` rejected, so the failure event can say `{ value }`. */
class FailedResult {
  constructor(readonly value: unknown) {}
}

/**
 * Creates a circuit breaker: counts failures and slow calls over a sliding window and, past a threshold,
 * opens to reject calls at once, probes the dependency in HALF_OPEN, and closes when it has recovered.
 *
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
