/**
 * Public types of `bulwark/saga`: what a step receives, how a step is declared, and the state a saga's
 * stream folds into.
 */
import type { RetryOptions } from '../breaker/index.js'
import type { Duration } from '../core/duration.js'

/**
 * - `compensatable`: has a compensation that undoes it; the default kind.
 * - `pivot`: the point of no return. Once it has executed the saga can only go forward. At most one.
 * - `retriable`: comes after the pivot; retried until it succeeds, never compensated.
 */
export type StepKind = 'compensatable' | 'pivot' | 'retriable'

/** What a step's `run` receives. */
export interface StepContext<Input, Outputs> {
  /** The saga's id. */
  sagaId: string
  /** The step's name. */
  step: string
  /** The input the saga was started with. */
  input: Input
  /** Outputs of the steps that executed before this one (a parallel group's siblings are not included). */
  outputs: Readonly<Outputs>
  /**
   * `${sagaId}:${stepName}`: the same on every run of this step, including re-runs after a crash, so an
   * idempotent service applies the effect once.
   */
  idempotencyKey: string
  /** Aborted when the step's timeout or the saga's deadline passes. */
  signal: AbortSignal
  /**
   * 1 on the first call of this step; grows with every call: retries by the step's `retry` policy, re-runs
   * of a retriable step, and re-runs after a crash. (The same base as `bulwark/breaker`'s
   * `PolicyContext.attempt`: attempt 1 is the first call.)
   */
  attempt: number
}

/** What a step's `compensate` receives. */
export interface CompensationContext<Input, Outputs, Output> extends StepContext<Input, Outputs> {
  /**
   * The step's recorded output; `undefined` when the step's outcome was uncertain (it failed with a
   * timeout or an abort, so its effect may or may not have happened).
   */
  output: Output | undefined
  /** Why the saga is compensating. */
  reason: SagaFailure
}

/**
 * The smallest contract a policy from `bulwark/breaker` fulfils (`circuitBreaker`, `retry`, `timeout`,
 * `wrap(...)`): run `fn` with a signal and an attempt number.
 */
export interface StepPolicy {
  execute<T>(
    fn: (context: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T,
    signal?: AbortSignal,
  ): Promise<T>
}

/** How a step is declared with `.step(name, options)`. */
export interface StepOptions<Input, Outputs, Output> {
  /** The action. Its result is recorded in the saga's stream, so it must be a JSON value (or undefined). */
  run: (context: StepContext<Input, Outputs>) => Output | Promise<Output>
  /**
   * Undoes `run`. Required for `compensatable` steps, not allowed on the others. It must be idempotent
   * (it may run again after a crash) and must accept that the effect may not have happened.
   */
  compensate?: (context: CompensationContext<Input, Outputs, Awaited<Output>>) => unknown
  /** @default 'compensatable' */
  kind?: StepKind
  /**
   * Retry the step within one run, through `bulwark/breaker`'s `retry`: a number of attempts in all, or its
   * options (the orchestrator's clock is used). @default no retry
   */
  retry?: number | Omit<RetryOptions, 'clock'>
  /** Time limit of each attempt; its signal aborts when it passes. @default no limit */
  timeout?: Duration
  /** A policy from `bulwark/breaker` (typically a shared `circuitBreaker`) the step runs through. */
  policy?: StepPolicy
}

/** A step of a `.parallel([...])` group: step options plus its name. */
export type ParallelStepOptions<Input, Outputs, Output = unknown, Name extends string = string> = StepOptions<
  Input,
  Outputs,
  Output
> & { name: Name }

/** Options of `defineSaga`. */
export interface SagaDefinitionOptions {
  /**
   * Time allowed from the saga's start until its pivot has executed (or its last step, without a pivot).
   * Past it, the running step's signal aborts and the saga compensates. @default no deadline
   */
  deadline?: Duration
}

/** The reason a saga failed: a serialised error. */
export interface SagaFailure {
  message: string
  /** The error's `code`, when it had one (`E_TIMEOUT`, `E_CIRCUIT_OPEN`...). */
  code?: string
  /** The step that failed, if a step did. */
  step?: string
}

/** A saga's status, derived from its stream. */
export type SagaStatus = 'running' | 'compensating' | 'parked' | 'completed' | 'aborted'

/** The status of one step. */
export type StepStatus =
  | 'pending'
  | 'started'
  | 'executed'
  | 'failed'
  | 'compensated'
  /** Settled by a person with `resolve(sagaId, note)`. */
  | 'resolved'

/** One step's outcome, as folded from the stream. */
export interface StepState {
  name: string
  kind: StepKind
  /** Index of the step's group (sequential steps are groups of one). */
  group: number
  status: StepStatus
  /** The number of the step's last recorded call (its `ctx.attempt`): every call's StepStarted carries it. */
  attempts: number
  /** The recorded output, once executed. */
  output?: unknown
  /** The last failure of the step's action. */
  error?: SagaFailure
  /** True when the last failure was a timeout or an abort: the effect may have happened. */
  uncertain: boolean
  /** Failures of the action since the saga was last started or resumed. */
  failures: number
  /** Compensation failures since the saga was last started or resumed. */
  compensationFailures: number
  /** The last compensation failure. */
  compensationError?: SagaFailure
}

/** One entry of a saga's timeline: an event of its stream. */
export interface TimelineEntry {
  /** The event type (`StepStarted`...). */
  type: string
  /** When it was recorded (ms since the epoch, from the orchestrator's clock). */
  at: number
  step?: string
  attempt?: number
  /** The failure, the park reason or the resolution note. */
  detail?: string
}

/** A saga's state: the fold of its stream. */
export interface SagaState<Outputs extends object = Record<string, unknown>> {
  sagaId: string
  /** The definition's name. */
  name: string
  status: SagaStatus
  /** Which way the saga was going when it was parked (or is going now). */
  phase: 'forward' | 'compensation'
  input: unknown
  /** Outputs of executed steps, by step name. */
  outputs: Partial<Outputs>
  /** Steps in definition order. */
  steps: StepState[]
  /** True once the pivot (or, without a pivot, nothing) has executed: no compensation any more. */
  pastPivot: boolean
  /** Absolute deadline (ms since the epoch), if the saga has one. */
  deadline?: number
  /** The failure that started compensation. */
  failure?: SagaFailure
  /** Why the saga is (or was last) parked. */
  parkedReason?: string
  /** Notes of `resolve(sagaId, note)` calls. */
  resolutions: string[]
  startedAt: number
  updatedAt: number
  /** The saga stream's version this state was folded up to. */
  version: number
  /** The saga's events in order, except `SagaHeartbeat`s (which only renew the lease). */
  timeline: TimelineEntry[]
}
