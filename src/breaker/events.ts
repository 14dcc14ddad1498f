import type { CircuitState } from './types.js'

/** Why a call failed: it threw (`error`), or it returned a result `isResultFailure` rejects (`value`). */
export type FailureReason = { readonly error: unknown } | { readonly value: unknown }

/** Why a breaker refused a call without running it. */
export type RejectionReason = 'open' | 'half_open' | 'forced_open' | 'throttled'

/** Every event a breaker emits, with its listener's signature. */
export interface BreakerEvents {
  /** The state changed. OPEN -> HALF_OPEN is noticed when a call arrives or the state is read (no timer). */
  stateChange: (from: CircuitState, to: CircuitState) => void
  /**
   * A call succeeded (threw an error `isFailure` rejects, or returned a good result). Durations are NaN for
   * closed-state calls of a breaker that does not time calls (no `slowCallDuration`, no `adaptiveSlowCall`).
   */
  success: (durationMs: number) => void
  /** A call failed. */
  failure: (reason: FailureReason, durationMs: number) => void
  /** A call was slow: when it finished, or while still running (`stillRunning`) when the breaker noticed. */
  slowCall: (durationMs: number, stillRunning: boolean) => void
  /** A call was refused without running. */
  rejection: (reason: RejectionReason) => void
}

/** A breaker's metrics at one instant, from `breaker.metrics()`. */
export interface BreakerMetrics {
  name: string
  state: CircuitState
  /** Failures / calls in the window (0 when the window is empty). */
  failureRate: number
  /** Slow calls / calls in the window. */
  slowCallRate: number
  /** Calls, failures and slow calls in the window. */
  calls: number
  failures: number
  slowCalls: number
  /** Calls running now (including half-open probes). */
  inFlight: number
  /** Half-open probes holding a permit now (a probe keeps it until it settles, is aborted, or hits its deadline). */
  probesInFlight: number
  /** Milliseconds since the current state began. */
  timeInState: number
  /** Openings since the circuit last closed. */
  consecutiveOpens: number
  /** The slow-call threshold in force, ms (learned when `adaptiveSlowCall` is set); null when detection is off. */
  slowCallDuration: number | null
  /** Current probability that adaptive throttling rejects a call (0 when throttling is off). */
  throttleProbability: number
  /** Counters since the breaker was created. */
  totals: {
    successes: number
    failures: number
    slowCalls: number
    rejections: number
    throttled: number
    /** Calls aborted by their caller, which count neither way. */
    ignored: number
  }
}
