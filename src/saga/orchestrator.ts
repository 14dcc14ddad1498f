import { randomUUID } from 'node:crypto'
import { throwIfAborted } from '../core/abort.js'
import type { Duration } from '../core/duration.js'
import { AbortedError, ValidationError } from '../core/errors.js'
import { TypedEmitter } from '../core/events.js'
import { expectDuration, expectOneOf, expectOptions, optionalNumber, optionKeys } from '../core/validate.js'
import { type DefinedStep, SagaDefinition } from './define.js'
import { SagaDefinitionError, SagaNotFoundError, SagaStateError } from './errors.js'
import { lastDriver, sagaEvent, sagaStreamId } from './events.js'
import { applySagaEvent, foldSaga } from './fold.js'
import { LeaseKeeper } from './lease.js'
import { type ResolvedSagaOptions, resolveSagaOptions, type SagaOrchestratorOptions } from './options.js'
import type { SagaCoordinationEvents, SagaOrchestratorEvents } from './orchestrator-events.js'
import type { StepExecutor } from './policies.js'
import { isFinished, nextCheckpoint, scanLifecycle } from './recovery.js'
import { type RunnerContext, SagaConflict, SagaRunner } from './runner.js'
import type { SagaState, SagaStatus } from './types.js'

// biome-ignore lint/suspicious/noExplicitAny: a registry holds definitions of any input and outputs
type AnyDefinition = SagaDefinition<any, any>

/** Options of `start()`. */
export interface StartSagaOptions {
  /**
   * The saga's id. Starting an id that exists does not start a second saga: it returns that one's state,
   * and drives it on only if it is unfinished, not parked, and stalled (no event for the orchestrator's
   * `lease`) or left by a previous life of this orchestrator's `instanceId`. @default a random UUID
   */
  sagaId?: string
  /** Overrides the definition's deadline for this saga. @default the definition's `deadline` */
  deadline?: Duration
}

/** Filters of `list()`. */
export interface ListSagasOptions {
  /** Only sagas with this status. */
  status?: SagaStatus
  /** Only unfinished sagas (running, compensating, parked) with no transition for at least this long. */
  stalledFor?: Duration
  /** At most this many, oldest first. @default no limit */
  limit?: number
}

/** What `recover()` did. */
export interface RecoverResult {
  /** Sagas driven again, with the state each reached. */
  resumed: SagaState[]
  /** Unfinished sagas left alone because they are parked (they wait for `resume` or `resolve`). */
  parked: string[]
  /**
   * Unfinished sagas left alone because another orchestrator may be driving them: their last event is
   * younger than the `lease` and was appended under another `instanceId`. A later `recover()` takes over
   * the ones that stay silent.
   */
  leased: string[]
  /** Sagas that could not be driven: no definition registered under their name, or a store error. */
  failed: { sagaId: string; error: Error }[]
}

const STATUSES: readonly SagaStatus[] = ['running', 'compensating', 'parked', 'completed', 'aborted']

/**
 * Runs sagas, records every transition in the saga's own stream, and picks them up again after a crash.
 * Create one with {@link createSagaOrchestrator}. The saga events are emitted on the orchestrator
 * ({@link SagaOrchestratorEvents}); `conflict` on {@link SagaOrchestrator.coordination}.
 */
export class SagaOrchestrator extends TypedEmitter<SagaOrchestratorEvents> {
  /**
   * Events of the orchestrators sharing the store, apart from the saga events: `conflict` when another
   * orchestrator appended to a saga first and this one stopped driving it.
   *
   * @example
   * ```ts
   * orchestrator.coordination.on('conflict', (sagaId) => log.warn(`saga ${sagaId} is driven elsewhere`))
   * ```
   */
  readonly coordination = new TypedEmitter<SagaCoordinationEvents>()
  readonly #options: ResolvedSagaOptions
  readonly #definitions = new Map<string, AnyDefinition>()
  readonly #inFlight = new Map<string, Promise<SagaState>>()
  readonly #shutdown = new AbortController()
  readonly #executors = new Map<DefinedStep, StepExecutor | null>()
  readonly #leases: LeaseKeeper

  constructor(options: SagaOrchestratorOptions) {
    super()
    this.#options = resolveSagaOptions(options)
    this.#leases = new LeaseKeeper(this.#options.clock, this.#options.lease)
    const sagas = options.sagas ?? []
    if (!Array.isArray(sagas)) throw new ValidationError('sagas', 'an array of saga definitions', sagas)
    for (const definition of sagas) this.register(definition)
  }

  /** Registers definitions by name, so `recover()` and `resume()` can drive their sagas. */
  register(...definitions: AnyDefinition[]): this {
    for (const definition of definitions) {
      if (!(definition instanceof SagaDefinition))
        throw new ValidationError('definition', 'a saga definition from defineSaga()', definition)
      const known = this.#definitions.get(definition.name)
      if (known && known !== definition) {
        throw new SagaDefinitionError(
          definition.name,
          'duplicate-saga',
          'another definition with this name is registered',
        )
      }
      this.#definitions.set(definition.name, definition)
    }
    return this
  }

  /**
   * Starts a saga and resolves with its state once it is completed, aborted or parked. With a `sagaId`
   * that already exists, nothing new starts: the existing saga's state is returned at once if it is
   * finished, parked, or driven by another orchestrator (an event within the `lease`, appended under
   * another `instanceId`); a stalled one (no event for the lease), or one a previous life of this
   * `instanceId` left, is driven on, and its state returned once it settles.
   *
   * @example
   * ```ts
   * const state = await orchestrator.start(placeOrder, { sku: 'A1', qty: 2, amount: 40 }, { sagaId: orderId })
   * if (state.status === 'completed') console.log(state.outputs.ship)
   * ```
   */
  async start<Input, Outputs extends object>(
    definition: SagaDefinition<Input, Outputs>,
    input: Input,
    options?: StartSagaOptions,
  ): Promise<SagaState<Outputs>> {
    throwIfAborted(this.#shutdown.signal)
    this.register(definition)
    if (definition.steps.length === 0)
      throw new SagaDefinitionError(definition.name, 'no-steps', 'a saga needs at least one step')
    const o = expectOptions('options', options, optionKeys<StartSagaOptions>({ sagaId: true, deadline: true }))
    const sagaId = o.sagaId === undefined ? randomUUID() : validateSagaId(o.sagaId)
    const deadlineMs = o.deadline === undefined ? definition.deadline : expectDuration('deadline', o.deadline)
    const running = this.#inFlight.get(sagaId)
    if (running) return running as Promise<SagaState<Outputs>>
    const at = this.#options.clock.now()
    const started = sagaEvent('SagaStarted', {
      sagaId,
      name: definition.name,
      input: input === undefined ? null : input,
      plan: definition.steps.map(({ name, kind, group }) => ({ name, kind, group })),
      deadline: deadlineMs === undefined ? null : at + deadlineMs,
      at,
    })
    const state = applySagaEvent(undefined, started)
    const runner = new SagaRunner(this.#context(), definition as AnyDefinition, state, [started])
    return this.#track(sagaId, async () => {
      try {
        return await runner.drive()
      } catch (error) {
        if (!(error instanceof SagaConflict) || runner.committed) throw error
        // The id exists already: this start is a repeat. Drive the saga on if nothing else does (this
        // orchestrator drove nothing of it when start was called: `running` above).
        const { state: existing, driver } = await this.#read(sagaId)
        if (!this.#mayTakeOver(existing, driver)) return existing
        checkPlan(definition as AnyDefinition, existing)
        return new SagaRunner(this.#context(), definition as AnyDefinition, existing).drive()
      }
    }) as Promise<SagaState<Outputs>>
  }

  /**
   * Continues a saga: a parked one is recorded as resumed (its failure counters restart) and driven again;
   * an unfinished one is driven if it is stalled (no event for the `lease`) or a previous life of this
   * `instanceId` left it, and otherwise returned as is, like a finished one: another orchestrator drives it.
   */
  async resume(sagaId: string): Promise<SagaState> {
    throwIfAborted(this.#shutdown.signal)
    validateSagaId(sagaId)
    const running = this.#inFlight.get(sagaId)
    if (running) return running
    const { state, driver } = await this.#read(sagaId)
    if (state.status !== 'parked' && !this.#mayTakeOver(state, driver)) return state
    const pending = state.status === 'parked' ? [sagaEvent('SagaResumed', { at: this.#options.clock.now() })] : []
    for (const event of pending) applySagaEvent(state, event)
    return this.#drive(state, pending)
  }

  /**
   * Settles a parked saga by hand: the step it is parked on counts as done (compensated, or executed when
   * it was going forward), `note` is recorded, and the saga continues.
   *
   * @example
   * ```ts
   * await orchestrator.resolve(sagaId, 'refund issued by hand, ticket #4411')
   * ```
   */
  async resolve(sagaId: string, note: string): Promise<SagaState> {
    throwIfAborted(this.#shutdown.signal)
    validateSagaId(sagaId)
    if (typeof note !== 'string' || note.trim() === '')
      throw new ValidationError('note', 'a non-empty string', note, { code: 'E_INVALID_ARGUMENT' })
    const state = await this.#load(sagaId)
    if (state.status !== 'parked' || this.#inFlight.has(sagaId))
      throw new SagaStateError(sagaId, state.status, 'only a parked saga can be resolved')
    const parked = [...state.timeline].reverse().find((e) => e.type === 'SagaParked')
    const event = sagaEvent('SagaResolved', { step: parked?.step ?? '', note, at: this.#options.clock.now() })
    applySagaEvent(state, event)
    for (const step of state.steps) {
      step.failures = 0
      step.compensationFailures = 0
    }
    return this.#drive(state, [event])
  }

  /**
   * Finds every unfinished saga (after a restart) and drives on the stalled ones (no event for the
   * `lease`) and, at once, those whose last event this `instanceId` appended in a previous life (a restart
   * after a crash); a step whose outcome was not recorded runs again with the same idempotency key. Parked
   * sagas, and sagas another orchestrator may be driving (`leased`), are listed, not driven.
   *
   * @example
   * ```ts
   * const orchestrator = createSagaOrchestrator({ store, sagas: [placeOrder], instanceId: `${hostname()}:orders:0` })
   * await orchestrator.recover() // at boot: this instance's own interrupted sagas, at once
   * setInterval(() => void orchestrator.recover(), 30_000).unref() // and, once per lease, sagas dead instances left
   * ```
   */
  async recover(): Promise<RecoverResult> {
    throwIfAborted(this.#shutdown.signal)
    const { store, recoveryCheckpoint, recoverConcurrency } = this.#options
    const scan = await scanLifecycle(store, (await store.loadCheckpoint(recoveryCheckpoint)) ?? 0)
    const result: RecoverResult = { resumed: [], parked: [], leased: [], failed: [] }
    const queue: string[] = []
    for (const saga of scan.sagas.values()) {
      if (isFinished(saga)) continue
      if (saga.last === 'SagaParked') result.parked.push(saga.sagaId)
      else if (!this.#definitions.has(saga.name)) {
        result.failed.push({
          sagaId: saga.sagaId,
          error: new SagaNotFoundError(saga.sagaId, {
            detail: `no definition named ${JSON.stringify(saga.name)} is registered`,
          }),
        })
      } else queue.push(saga.sagaId)
    }
    await store.storeCheckpoint(recoveryCheckpoint, nextCheckpoint(scan))
    const worker = async () => {
      for (let sagaId = queue.shift(); sagaId !== undefined; sagaId = queue.shift()) {
        try {
          const running = this.#inFlight.get(sagaId)
          const { state, driver } = running ? { state: await running, driver: undefined } : await this.#read(sagaId)
          if (running || !this.#mayTakeOver(state, driver)) {
            if (state.status === 'running' || state.status === 'compensating') result.leased.push(sagaId)
            else result.resumed.push(state)
          } else result.resumed.push(await this.#drive(state, []))
        } catch (error) {
          result.failed.push({ sagaId, error: error as Error })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(recoverConcurrency, queue.length) }, worker))
    return result
  }

  /** The saga's state (the fold of its stream), or `undefined` if there is no such saga. */
  async get(sagaId: string): Promise<SagaState | undefined> {
    validateSagaId(sagaId)
    return foldSaga(await this.#options.store.readStream(sagaStreamId(sagaId)))
  }

  /**
   * Sagas by status and by how long they have been stalled.
   *
   * @example
   * ```ts
   * const stuck = await orchestrator.list({ status: 'parked' })
   * const slow = await orchestrator.list({ stalledFor: '10m' })
   * ```
   */
  async list(options?: ListSagasOptions): Promise<SagaState[]> {
    const o = expectOptions(
      'options',
      options,
      optionKeys<ListSagasOptions>({ status: true, stalledFor: true, limit: true }),
    )
    const status = o.status === undefined ? undefined : expectOneOf('status', o.status, STATUSES)
    const stalledFor = o.stalledFor === undefined ? undefined : expectDuration('stalledFor', o.stalledFor)
    const limit = optionalNumber('limit', o.limit, Number.POSITIVE_INFINITY, { min: 1, integer: true })
    const scan = await scanLifecycle(this.#options.store, 0)
    const now = this.#options.clock.now()
    const found: SagaState[] = []
    for (const saga of scan.sagas.values()) {
      if (found.length >= limit) break
      const finished = isFinished(saga)
      if (stalledFor !== undefined && finished) continue
      if (status === 'completed' && saga.last !== 'SagaCompleted') continue
      if (status === 'aborted' && saga.last !== 'SagaAborted') continue
      if (status === 'parked' && saga.last !== 'SagaParked') continue
      if ((status === 'running' || status === 'compensating') && (finished || saga.last === 'SagaParked')) continue
      const state = await this.get(saga.sagaId)
      if (!state || (status !== undefined && state.status !== status)) continue
      if (stalledFor !== undefined && now - state.updatedAt < stalledFor) continue
      found.push(state)
    }
    return found
  }

  /**
   * Stops driving: running steps' signals abort, backoffs end, and the calls waiting on them reject with
   * `E_ABORTED`; later `start`/`resume`/`resolve`/`recover` calls reject too. Unfinished sagas stay in the
   * store for `recover()` by the next orchestrator.
   */
  async close(): Promise<void> {
    this.#shutdown.abort(new AbortedError({ message: 'The saga orchestrator was closed' }))
    this.#leases.stopAll(this.#shutdown.signal.reason)
    await Promise.allSettled([...this.#inFlight.values()])
  }

  /**
   * Unfinished, not parked, and either silent for the lease (whoever drove it is gone) or last driven by
   * this instance in a previous life (see `instanceId`). Callers check first that this object drives nothing
   * of the saga.
   */
  #mayTakeOver(state: SagaState, driver: string | undefined): boolean {
    if (state.status !== 'running' && state.status !== 'compensating') return false
    if (driver === this.#options.instanceId) return true
    return this.#options.clock.now() - state.updatedAt >= this.#options.lease
  }

  /** The saga's state and the instance that appended its last event. */
  async #read(sagaId: string): Promise<{ state: SagaState; driver: string | undefined }> {
    const events = await this.#options.store.readStream(sagaStreamId(sagaId))
    const state = foldSaga(events)
    if (!state) throw new SagaNotFoundError(sagaId)
    return { state, driver: lastDriver(events) }
  }

  async #load(sagaId: string): Promise<SagaState> {
    const state = await this.get(sagaId)
    if (!state) throw new SagaNotFoundError(sagaId)
    return state
  }

  #drive(state: SagaState, pending: ReturnType<typeof sagaEvent>[]): Promise<SagaState> {
    const definition = this.#definitions.get(state.name)
    if (!definition)
      return Promise.reject(
        new SagaNotFoundError(state.sagaId, {
          detail: `no definition named ${JSON.stringify(state.name)} is registered`,
        }),
      )
    checkPlan(definition, state)
    const runner = new SagaRunner(this.#context(), definition, state, pending)
    return this.#track(state.sagaId, () => runner.drive())
  }

  #track(sagaId: string, run: () => Promise<SagaState>): Promise<SagaState> {
    const promise = run()
      .catch(async (error) => {
        if (!(error instanceof SagaConflict)) throw error
        this.coordination.emit('conflict', sagaId)
        // Another orchestrator got there first (or the saga already existed): report what the stream says.
        return this.#load(sagaId)
      })
      .finally(() => this.#inFlight.delete(sagaId))
    this.#inFlight.set(sagaId, promise)
    return promise
  }

  #context(): RunnerContext {
    return {
      options: this.#options,
      emitter: this,
      shutdown: this.#shutdown.signal,
      executors: this.#executors,
      leases: this.#leases,
    }
  }
}

/**
 * Creates a saga orchestrator on an event store.
 *
 * @example
 * ```ts
 * const orchestrator = createSagaOrchestrator({ store: sqliteEventStore({ path: 'app.db' }), sagas: [placeOrder] })
 * await orchestrator.recover() // after a restart: drive on what this instance (see `instanceId`) or a silent one left
 * const state = await orchestrator.start(placeOrder, { sku: 'A1', qty: 2, amount: 40 })
 * ```
 */
export function createSagaOrchestrator(options: SagaOrchestratorOptions): SagaOrchestrator {
  return new SagaOrchestrator(options)
}

function validateSagaId(sagaId: unknown): string {
  if (typeof sagaId !== 'string' || sagaId === '' || sagaId.length > 200) {
    throw new ValidationError('sagaId', 'a non-empty string of at most 200 characters', sagaId, {
      code: 'E_INVALID_ARGUMENT',
    })
  }
  return sagaId
}

/** A stream recorded with another version of the definition cannot be driven by this one. */
function checkPlan(definition: AnyDefinition, state: SagaState): void {
  const recorded = state.steps.map((s) => `${s.name}/${s.kind}/${s.group}`).join(',')
  const current = definition.steps.map((s) => `${s.name}/${s.kind}/${s.group}`).join(',')
  if (recorded !== current) {
    throw new SagaDefinitionError(
      definition.name,
      'plan-mismatch',
      `saga ${state.sagaId} was recorded with steps [${recorded}], the registered definition has [${current}]`,
    )
  }
}
