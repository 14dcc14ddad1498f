import type { Clock } from '../core/clock.js'
import { systemClock } from '../core/clock.js'
import { type Duration, parseDuration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import { expectNumber, expectOptions, optionalFunction, optionalNumber, optionKeys } from '../core/validate.js'
import type { EventStore } from '../eventstore/index.js'
import type { SagaDefinition } from './define.js'
import type { SagaEvent } from './events.js'

/** Exponential backoff between attempts, and how many failures are tolerated before the saga is parked. */
export interface SagaRetryOptions {
  /** Failures tolerated (since the saga started or was last resumed) before the saga is parked. */
  maxAttempts?: number
  /** Delay after the first failure. @default '1s' */
  initialDelay?: Duration
  /** Longest delay. @default '1m' */
  maxDelay?: Duration
  /** Growth of the delay per failure. @default 2 */
  factor?: number
}

/**
 * Called around every append to a saga stream. For tests that inject crashes (see `crashPoints` in
 * `bulwark/testing`); when no hook is set the orchestrator appends directly.
 */
export interface SagaHooks {
  /** Before an append of `events` to the saga's stream. */
  beforeAppend?(sagaId: string, events: readonly SagaEvent[]): void | Promise<void>
  /** After the append is committed. */
  afterAppend?(sagaId: string, events: readonly SagaEvent[]): void | Promise<void>
}

/** Options of {@link createSagaOrchestrator}. */
export interface SagaOrchestratorOptions {
  /** The event store that holds the saga streams (`saga-<sagaId>`). Required. */
  store: EventStore
  /** Source of time for deadlines, backoffs and recorded times. @default systemClock */
  clock?: Clock
  /** Definitions `recover()` and `resume()` may need, by name. `start()` registers its definition too. @default [] */
  // biome-ignore lint/suspicious/noExplicitAny: definitions of any input and outputs
  sagas?: readonly SagaDefinition<any, any>[]
  /** Retries of a failing compensation; past `maxAttempts` the saga is parked. @default { maxAttempts: 5, initialDelay: '1s', maxDelay: '1m', factor: 2 } */
  compensationRetry?: SagaRetryOptions
  /** Retries of a failing retriable step (after the pivot). @default { maxAttempts: Infinity, initialDelay: '1s', maxDelay: '1m', factor: 2 } */
  retriableRetry?: SagaRetryOptions
  /** Sagas `recover()` drives at once. @default 16 */
  recoverConcurrency?: number
  /** Checkpoint id under which `recover()` remembers the position below which every saga is finished. @default 'bulwark-saga-recovery' */
  recoveryCheckpoint?: string
  /** Hooks around appends (crash-point injection in tests). @default none */
  hooks?: SagaHooks
  /**
   * How long a saga's stream may go without a new event before another orchestrator may take it over.
   * The orchestrator that drives a saga renews its lease by every append, and with a `SagaHeartbeat` after
   * a quarter of the lease without one (a long step, a backoff); if it cannot append for half the lease
   * (store unreachable), it aborts its running steps' signals and stops driving the saga. `start` with an
   * existing id, `resume` and `recover` drive an unfinished saga only once its last event is older than
   * the lease; before that they return its state (`recover` lists it under `leased`). So a step is never
   * run by two orchestrators at once, provided it stops when its signal aborts, the orchestrators' clocks
   * agree within half the lease, and no event loop is blocked for half the lease.
   * @default '30s'
   */
  lease?: Duration
}

export interface ResolvedBackoff {
  maxAttempts: number
  initialDelay: number
  maxDelay: number
  factor: number
}

export interface ResolvedSagaOptions {
  store: EventStore
  clock: Clock
  compensationRetry: ResolvedBackoff
  retriableRetry: ResolvedBackoff
  recoverConcurrency: number
  recoveryCheckpoint: string
  hooks: SagaHooks | undefined
  lease: number
}

/** Merges defaults and validates every option once, at construction. */
export function resolveSagaOptions(input: SagaOrchestratorOptions): ResolvedSagaOptions {
  const options = expectOptions(
    'options',
    input,
    optionKeys<SagaOrchestratorOptions>({
      store: true,
      clock: true,
      sagas: true,
      compensationRetry: true,
      retriableRetry: true,
      recoverConcurrency: true,
      recoveryCheckpoint: true,
      hooks: true,
      lease: true,
    }),
  )
  const store = options.store
  if (typeof store !== 'object' || store === null || typeof store.appendToStream !== 'function') {
    throw new ValidationError('store', 'an EventStore', store)
  }
  const clock = options.clock ?? systemClock
  if (typeof clock !== 'object' || typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function') {
    throw new ValidationError('clock', 'a Clock { now, setTimeout, clearTimeout }', clock)
  }
  const hooks =
    options.hooks === undefined
      ? undefined
      : expectOptions('hooks', options.hooks, optionKeys<SagaHooks>({ beforeAppend: true, afterAppend: true }))
  if (hooks) {
    optionalFunction('hooks.beforeAppend', hooks.beforeAppend)
    optionalFunction('hooks.afterAppend', hooks.afterAppend)
  }
  const checkpoint = options.recoveryCheckpoint ?? 'bulwark-saga-recovery'
  if (typeof checkpoint !== 'string' || checkpoint === '') {
    throw new ValidationError('recoveryCheckpoint', 'a non-empty string', checkpoint)
  }
  return {
    store,
    clock,
    compensationRetry: resolveBackoff('compensationRetry', options.compensationRetry, 5),
    retriableRetry: resolveBackoff('retriableRetry', options.retriableRetry, Number.POSITIVE_INFINITY),
    recoverConcurrency: optionalNumber('recoverConcurrency', options.recoverConcurrency, 16, { min: 1, integer: true }),
    recoveryCheckpoint: checkpoint,
    hooks: hooks && (hooks.beforeAppend || hooks.afterAppend) ? hooks : undefined,
    lease: resolveLease(options.lease),
  }
}

function resolveLease(input: Duration | undefined): number {
  if (input === undefined) return 30_000
  const ms = parseDuration(input, 'lease')
  if (ms <= 0) throw new ValidationError('lease', 'a duration > 0', input)
  return ms
}

function resolveBackoff(name: string, input: SagaRetryOptions | undefined, maxAttempts: number): ResolvedBackoff {
  const o = expectOptions(
    name,
    input,
    optionKeys<SagaRetryOptions>({ maxAttempts: true, initialDelay: true, maxDelay: true, factor: true }),
  )
  const resolved = {
    maxAttempts:
      o.maxAttempts === Number.POSITIVE_INFINITY
        ? o.maxAttempts
        : optionalNumber(`${name}.maxAttempts`, o.maxAttempts, maxAttempts, { min: 1, integer: true }),
    initialDelay: o.initialDelay === undefined ? 1_000 : parseDuration(o.initialDelay, `${name}.initialDelay`),
    maxDelay: o.maxDelay === undefined ? 60_000 : parseDuration(o.maxDelay, `${name}.maxDelay`),
    factor: o.factor === undefined ? 2 : expectNumber(`${name}.factor`, o.factor, { min: 1 }),
  }
  if (resolved.maxDelay < resolved.initialDelay) {
    throw new ValidationError(
      `${name}.maxDelay`,
      `a duration >= initialDelay (${resolved.initialDelay} ms)`,
      o.maxDelay,
    )
  }
  return resolved
}

/** The delay after the `failures`-th failure (1-based). */
export function backoffDelay(backoff: ResolvedBackoff, failures: number): number {
  return Math.min(backoff.maxDelay, backoff.initialDelay * backoff.factor ** Math.max(0, failures - 1))
}
