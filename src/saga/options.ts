import { randomUUID } from 'node:crypto'
import { type Backoff, type ResolvedBackoff, resolveBackoff } from '../core/backoff.js'
import type { Clock } from '../core/clock.js'
import type { Duration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import {
  expectOptions,
  optionalClock,
  optionalDuration,
  optionalFunction,
  optionalNumber,
  optionKeys,
} from '../core/validate.js'
import type { EventStore } from '../eventstore/index.js'
import type { SagaDefinition } from './define.js'
import type { SagaEvent } from './events.js'

/**
 * How often a failing step or compensation is run again before the saga is parked, and how long it waits
 * in between.
 *
 * @example
 * ```ts
 * createSagaOrchestrator({ store, compensationRetry: { attempts: 10, backoff: { initial: '2s', max: '5m' } } })
 * ```
 */
export interface SagaRetryOptions {
  /**
   * Runs in all, the first included, since the saga started or was last resumed: after the `attempts`-th
   * failed run the saga is parked. (A run is one call of the action or compensation, or, with the step's
   * own `retry`, one whole series of its calls.) An integer >= 1, or `Infinity`.
   */
  attempts?: number
  /** The wait after the n-th failed run is the backoff's n-th wait. @default { initial: '1s', max: '1m', multiplier: 2 } */
  backoff?: Backoff
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
  /** Runs of a failing compensation; after `attempts` failed runs the saga is parked. @default { attempts: 5, backoff: { initial: '1s', max: '1m', multiplier: 2 } } */
  compensationRetry?: SagaRetryOptions
  /** Runs of a failing retriable step (after the pivot). @default { attempts: Infinity, backoff: { initial: '1s', max: '1m', multiplier: 2 } } */
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
   * the lease (or at once if this `instanceId` appended it); before that they return its state (`recover`
   * lists it under `leased`). So a step is never
   * run by two orchestrators at once, provided it stops when its signal aborts, the orchestrators' clocks
   * agree within half the lease, and no event loop is blocked for half the lease.
   * @default '30s'
   */
  lease?: Duration
  /**
   * Who this orchestrator is, stable across restarts of one process slot, e.g.
   * `${hostname}:${service}:${replica}`. Every event it appends records it (`metadata.orchestrator`).
   * `start` with an existing id, `resume` and `recover` take over at once, without waiting for the
   * `lease`, an unfinished saga whose last event was appended under this same id and that this orchestrator
   * object is not driving: a previous life of this instance left it (killed, crashed, or closed), so a
   * restarted service finishes its in-flight sagas at boot. Start the new life only once the old one is dead.
   *
   * It must be unique among live orchestrators. Two live processes that share one would each take the
   * other's sagas over at once, as if they were restarts: a step may then run in both at the same time
   * (the log still cannot fork: the later append conflicts and that orchestrator stops). With the default,
   * a random id per orchestrator object, a restarted process waits for the lease like any other.
   * A non-blank, well-formed (no lone surrogates) string of at most 200 characters.
   *
   * @example
   * ```ts
   * createSagaOrchestrator({ store, sagas: [placeOrder], instanceId: `${os.hostname()}:orders:${replica}` })
   * ```
   * @default a random UUID per orchestrator
   */
  instanceId?: string
}

export interface ResolvedSagaRetry {
  attempts: number
  backoff: ResolvedBackoff
}

export interface ResolvedSagaOptions {
  store: EventStore
  clock: Clock
  compensationRetry: ResolvedSagaRetry
  retriableRetry: ResolvedSagaRetry
  recoverConcurrency: number
  recoveryCheckpoint: string
  hooks: SagaHooks | undefined
  lease: number
  instanceId: string
  /** Recorded with every event the orchestrator appends (one object for all of them). */
  appendMetadata: Readonly<{ orchestrator: string }>
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
      instanceId: true,
    }),
  )
  const store = options.store
  if (typeof store !== 'object' || store === null || typeof store.appendToStream !== 'function') {
    throw new ValidationError('store', 'an EventStore', store)
  }
  const clock = optionalClock('clock', options.clock)
  const hooks =
    options.hooks === undefined
      ? undefined
      : expectOptions('hooks', options.hooks, optionKeys<SagaHooks>({ beforeAppend: true, afterAppend: true }))
  if (hooks) {
    optionalFunction('hooks.beforeAppend', hooks.beforeAppend)
    optionalFunction('hooks.afterAppend', hooks.afterAppend)
  }
  const instanceId = resolveInstanceId(options.instanceId)
  const checkpoint = options.recoveryCheckpoint ?? 'bulwark-saga-recovery'
  if (typeof checkpoint !== 'string' || checkpoint === '') {
    throw new ValidationError('recoveryCheckpoint', 'a non-empty string', checkpoint)
  }
  return {
    store,
    clock,
    compensationRetry: resolveSagaRetry('compensationRetry', options.compensationRetry, 5),
    retriableRetry: resolveSagaRetry('retriableRetry', options.retriableRetry, Number.POSITIVE_INFINITY),
    recoverConcurrency: optionalNumber('recoverConcurrency', options.recoverConcurrency, 16, { min: 1, integer: true }),
    recoveryCheckpoint: checkpoint,
    hooks: hooks && (hooks.beforeAppend || hooks.afterAppend) ? hooks : undefined,
    lease: optionalDuration('lease', options.lease, 30_000, { positive: true }),
    instanceId,
    appendMetadata: Object.freeze({ orchestrator: instanceId }),
  }
}

function resolveInstanceId(input: unknown): string {
  if (input === undefined) return randomUUID()
  // Node 20 has String.prototype.isWellFormed; the ES2023 lib this package compiles against does not type it.
  if (
    typeof input !== 'string' ||
    input.trim() === '' ||
    input.length > 200 ||
    !(input as string & { isWellFormed(): boolean }).isWellFormed()
  ) {
    throw new ValidationError('instanceId', 'a non-blank, well-formed string of at most 200 characters', input)
  }
  return input
}

/** `backoff`'s defaults for saga retries: 1 s, doubling, up to 1 min. */
const SAGA_BACKOFF = { initial: 1_000, max: 60_000, multiplier: 2 } as const

function resolveSagaRetry(name: string, input: SagaRetryOptions | undefined, attempts: number): ResolvedSagaRetry {
  const o = expectOptions(name, input, optionKeys<SagaRetryOptions>({ attempts: true, backoff: true }))
  return {
    attempts:
      o.attempts === Number.POSITIVE_INFINITY
        ? o.attempts
        : optionalNumber(`${name}.attempts`, o.attempts, attempts, { min: 1, integer: true }),
    backoff: resolveBackoff(`${name}.backoff`, o.backoff, SAGA_BACKOFF),
  }
}
