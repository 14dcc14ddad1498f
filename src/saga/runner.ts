/**
 * Drives one saga from its current state to completed, aborted or parked.
 *
 * Crash safety: a step's StepStarted is committed before its action runs, and its outcome after. To keep
 * appends per step near one, outcomes are not appended on their own: a group's StepExecuted events travel
 * in the same append as the next group's StepStarted (or as SagaCompleted / CompensationStarted). Until
 * that append commits the outcome is not durable, so a crash re-runs the step with the same idempotency
 * key, which is the at-least-once contract anyway.
 */
import { sleep, toAbortedError } from '../core/abort.js'
import { backoffDelay } from '../core/backoff.js'
import { BulwarkError, isBulwarkError } from '../core/errors.js'
import type { TypedEmitter } from '../core/events.js'
import type { DefinedStep, SagaDefinition } from './define.js'
import { isUncertain, type SagaEvent, sagaEvent, sagaStreamId, toFailure, toNewEvents } from './events.js'
import { applySagaEvent } from './fold.js'
import { holdProcess } from './keep-alive.js'
import type { LeaseHolder, LeaseKeeper } from './lease.js'
import type { ResolvedSagaOptions } from './options.js'
import type { SagaOrchestratorEvents } from './orchestrator-events.js'
import { buildExecutor, type StepExecutor } from './policies.js'
import type { SagaFailure, SagaState, StepState } from './types.js'

/** Thrown inside a driver when another orchestrator appended to the saga first. */
export class SagaConflict extends Error {}

type Outcome =
  | { step: DefinedStep; ok: true; output: unknown }
  | { step: DefinedStep; ok: false; error: SagaFailure; attempt: number }

export interface RunnerContext {
  options: ResolvedSagaOptions
  emitter: TypedEmitter<SagaOrchestratorEvents>
  /** Aborted by `close()`: stops steps, compensations and backoffs. */
  shutdown: AbortSignal
  /** Each step's policies, built once per orchestrator (they run on its clock); null when it has none. */
  executors: Map<DefinedStep, StepExecutor | null>
  /** Renews the lease of every saga the orchestrator drives. */
  leases: LeaseKeeper
}

export class SagaRunner implements LeaseHolder {
  /** The stream version that is committed; the local state may be ahead by `carry.length` events. */
  #durableVersion: number
  readonly #initialVersion: number
  /** Events applied locally and waiting to ride along with the next append. */
  #carry: SagaEvent[] = []
  readonly #stream: string
  #deadlineSignal: AbortSignal | undefined
  #deadlineTimer: unknown
  /** Aborts this run: close() (`shutdown`), a failed append (the log cannot be trusted any more), a lost lease. */
  readonly #stop = new AbortController()
  /** What every step, compensation and backoff of this run listens to. */
  readonly #signal = this.#stop.signal
  /** Appends in order, one at a time: the steps of a parallel group record their retries concurrently. */
  #appending: Promise<void> = Promise.resolve()
  /** `at` of the last event this run committed: its lease runs from there (see `lease` in the options). */
  #renewedAt: number
  /** When this run last began an append (a heartbeat is due a quarter of the lease after it). */
  #appendedAt: number
  /** The last heartbeat failed (the store is unreachable); a late timer alone (a busy event loop) is not that. */
  #renewalFailing = false
  /** An append has begun and not ended: a store that hangs cannot renew the lease either. */
  #appendInFlight = false
  /** A heartbeat waits in the append queue: one is enough, however long the store takes. */
  #heartbeatQueued = false

  readonly #ctx: RunnerContext
  readonly #definition: SagaDefinition<unknown, object>
  readonly #state: SagaState

  constructor(
    ctx: RunnerContext,
    definition: SagaDefinition<unknown, object>,
    state: SagaState,
    /** Events already applied to `state` but not yet appended (a new saga's SagaStarted). */
    pending: SagaEvent[] = [],
  ) {
    this.#ctx = ctx
    this.#definition = definition
    this.#state = state
    this.#durableVersion = state.version - pending.length
    this.#initialVersion = this.#durableVersion
    this.#carry = pending
    this.#stream = sagaStreamId(state.sagaId)
    this.#renewedAt = this.#appendedAt = ctx.options.clock.now()
  }

  /** Whether this runner has committed anything to the stream. */
  get committed(): boolean {
    return this.#durableVersion > this.#initialVersion
  }

  async drive(): Promise<SagaState> {
    const release = holdProcess()
    // close() aborts the runs it finds in `leases` (cheaper than a listener or AbortSignal.any per saga).
    if (this.#ctx.shutdown.aborted) this.stopRun(this.#ctx.shutdown.reason)
    try {
      this.#armDeadline()
      this.#ctx.leases.add(this)
      for (;;) {
        if (this.#state.status === 'running') await this.#forward()
        else if (this.#state.status === 'compensating') await this.#compensate()
        else break
      }
      return this.#state
    } finally {
      if (this.#deadlineTimer !== undefined) this.#ctx.options.clock.clearTimeout(this.#deadlineTimer as never)
      this.#ctx.leases.delete(this)
      release()
    }
  }

  /**
   * Keeps this run's lease (called by the orchestrator's {@link LeaseKeeper}): a `SagaHeartbeat` after a
   * quarter of the lease without an append. When heartbeats fail (the store is unreachable) until half the
   * lease has passed since the last committed event, the run stops, aborting its steps' signals, before
   * another orchestrator may take the saga over (at the full lease). A heartbeat that conflicts means
   * another one has taken over: the run stops too.
   */
  stopRun(reason: unknown): void {
    this.#stop.abort(reason)
  }

  renew(now: number): void {
    if (this.#signal.aborted) return
    const { lease } = this.#ctx.options
    if ((this.#renewalFailing || this.#appendInFlight) && now - this.#renewedAt >= lease / 2) {
      const message = `Saga ${this.#state.sagaId}: nothing could be recorded for ${now - this.#renewedAt} ms (half the lease); stopped driving it so that another orchestrator may take it over`
      this.#stop.abort(new BulwarkError('E_SAGA_LEASE_LOST', message, { context: { sagaId: this.#state.sagaId } }))
    } else if (!this.#heartbeatQueued && now - this.#appendedAt >= lease / 4) {
      // A failed heartbeat is tried again at the next tick; a conflict means another orchestrator took over.
      this.#heartbeatQueued = true
      this.#commit([sagaEvent('SagaHeartbeat', { at: now })], true)
        .catch(() => undefined)
        .finally(() => {
          this.#heartbeatQueued = false
        })
    }
  }

  /** Runs the first group that has not executed yet (or completes the saga). */
  async #forward(): Promise<void> {
    const group = this.#nextGroup()
    if (group === undefined) return this.#commit([sagaEvent('SagaCompleted', { at: this.#now() })])
    // A step started before a crash, with no recorded outcome, runs again whatever the deadline says: its
    // effect may have happened, and only a re-run with the same key tells (a pivot cannot be compensated).
    const deadline = group.some((s) => this.#stepState(s.name).status === 'started') ? undefined : this.#deadlineSignal
    if (deadline && !this.#state.pastPivot && this.#now() >= this.#state.deadline!) {
      return this.#commit([sagaEvent('CompensationStarted', { reason: deadlineFailure(), at: this.#now() })])
    }
    const states = group.map((step) => this.#stepState(step.name))
    await this.#commit(
      states.map((s) => sagaEvent('StepStarted', { step: s.name, attempt: s.attempts + 1, at: this.#now() })),
    )
    const outcomes =
      group.length === 1
        ? [await this.#runStep(group[0]!, deadline)]
        : await Promise.all(group.map((s) => this.#runStep(s, deadline)))
    const events: SagaEvent[] = []
    const failures: SagaFailure[] = []
    const retriable = group[0]!.kind === 'retriable'
    for (const outcome of outcomes) {
      const at = this.#now()
      if (outcome.ok) {
        const data: { step: string; output: unknown; at: number } = {
          step: outcome.step.name,
          output: outcome.output,
          at,
        }
        if (outcome.output === undefined) delete (data as { output?: unknown }).output
        events.push(sagaEvent('StepExecuted', data))
      } else {
        failures.push(outcome.error)
        events.push(
          sagaEvent('StepFailed', {
            step: outcome.step.name,
            attempt: outcome.attempt,
            error: outcome.error,
            uncertain: isUncertain(outcome.error),
            at,
          }),
        )
      }
    }
    if (failures.length === 0) return this.#defer(events)
    if (!retriable) {
      events.push(sagaEvent('CompensationStarted', { reason: failures[0]!, at: this.#now() }))
      return this.#commit(events)
    }
    await this.#commit(events)
    await this.#backoffOrPark(
      'forward',
      group.filter((_, i) => !outcomes[i]!.ok),
      this.#ctx.options.retriableRetry,
    )
  }

  /** Compensates the last group that has something to undo (or aborts the saga). */
  async #compensate(): Promise<void> {
    const targets = this.#state.steps.filter(needsCompensation)
    if (targets.length === 0) {
      return this.#commit([
        sagaEvent('SagaAborted', { reason: this.#state.failure ?? { message: 'aborted' }, at: this.#now() }),
      ])
    }
    const lastGroup = Math.max(...targets.map((s) => s.group))
    const group = targets.filter((s) => s.group === lastGroup)
    const outcomes = await Promise.all(group.map((s) => this.#runCompensation(s)))
    const events: SagaEvent[] = []
    const failed: DefinedStep[] = []
    for (const outcome of outcomes) {
      if (outcome.ok) {
        events.push(sagaEvent('StepCompensated', { step: outcome.step.name, at: this.#now() }))
      } else {
        failed.push(outcome.step)
        const attempt = this.#stepState(outcome.step.name).compensationFailures + 1
        events.push(
          sagaEvent('CompensationFailed', { step: outcome.step.name, attempt, error: outcome.error, at: this.#now() }),
        )
      }
    }
    if (failed.length === 0) return this.#defer(events)
    await this.#commit(events)
    await this.#backoffOrPark('compensation', failed, this.#ctx.options.compensationRetry)
  }

  /** After failures: park the saga if a step is past its limit, otherwise wait the backoff. */
  async #backoffOrPark(
    phase: 'forward' | 'compensation',
    failed: DefinedStep[],
    retry: ResolvedSagaOptions['retriableRetry'],
  ): Promise<void> {
    const counts = failed.map((s) => {
      const st = this.#stepState(s.name)
      return phase === 'forward' ? st.failures : st.compensationFailures
    })
    const worst = Math.max(...counts)
    if (worst >= retry.attempts) {
      const step = failed[counts.indexOf(worst)]!
      const st = this.#stepState(step.name)
      const error = phase === 'forward' ? st.error : st.compensationError
      const what = phase === 'forward' ? 'step' : 'compensation of step'
      const reason = `${what} ${JSON.stringify(step.name)} failed ${worst} times: ${error?.message ?? 'unknown error'}`
      return this.#commit([sagaEvent('SagaParked', { reason, step: step.name, at: this.#now() })])
    }
    await sleep(backoffDelay(retry.backoff, worst), { clock: this.#ctx.options.clock, signal: this.#signal })
  }

  async #runStep(step: DefinedStep, deadline: AbortSignal | undefined): Promise<Outcome> {
    // This run's StepStarted carries the number of its first call; a retry records each further call.
    let calls = this.#stepState(step.name).attempts - 1
    const signal = deadline && !this.#state.pastPivot ? AbortSignal.any([this.#signal, deadline]) : this.#signal
    const { sagaId, input } = this.#state
    // A copy: a step cannot change the recorded outputs, nor see later steps' outputs appear in its context.
    const outputs = { ...this.#state.outputs }
    const idempotencyKey = `${sagaId}:${step.name}`
    const execute = this.#executor(step)
    try {
      // The context is built in place (no spread): this is the per-step hot path.
      const output = execute
        ? await execute(
            (c) =>
              step.run({ sagaId, step: step.name, input, outputs, idempotencyKey, signal: c.signal, attempt: ++calls }),
            signal,
            () => this.#commit([sagaEvent('StepStarted', { step: step.name, attempt: calls + 1, at: this.#now() })]),
          )
        : await step.run({ sagaId, step: step.name, input, outputs, idempotencyKey, signal, attempt: ++calls })
      return { step, ok: true, output }
    } catch (error) {
      if (this.#signal.aborted) throw this.#stopReason()
      // A step that gave up because the deadline aborted its signal failed for that reason, whatever it threw.
      const cause = deadline?.aborted && !this.#state.pastPivot ? deadline.reason : error
      return { step, ok: false, error: toFailure(cause, step.name), attempt: calls }
    }
  }

  async #runCompensation(st: StepState): Promise<Outcome> {
    const step = this.#definedStep(st.name)
    const context = {
      sagaId: this.#state.sagaId,
      step: step.name,
      input: this.#state.input,
      outputs: { ...this.#state.outputs },
      idempotencyKey: `${this.#state.sagaId}:${step.name}`,
      output: st.status === 'executed' ? st.output : undefined,
      reason: this.#state.failure ?? { message: 'aborted' },
    }
    const compensate = step.compensate!
    const signal = this.#signal
    const execute = this.#executor(step)
    let calls = st.compensationFailures
    try {
      execute
        ? await execute((c) => compensate({ ...context, signal: c.signal, attempt: ++calls }), signal, noRecord)
        : await compensate({ ...context, signal, attempt: ++calls })
      return { step, ok: true, output: undefined }
    } catch (error) {
      if (this.#signal.aborted) throw this.#stopReason()
      return { step, ok: false, error: toFailure(error, step.name), attempt: calls }
    }
  }

  /** The steps of the first group with a step that is neither executed nor resolved, minus those that are. */
  #nextGroup(): DefinedStep[] | undefined {
    const open = this.#state.steps.find((s) => s.status !== 'executed' && s.status !== 'resolved')
    if (!open) return undefined
    return this.#definition.steps.filter((d) => {
      if (d.group !== open.group) return false
      const status = this.#stepState(d.name).status
      return status !== 'executed' && status !== 'resolved'
    })
  }

  /** Applies events locally and keeps them for the next append. */
  #defer(events: SagaEvent[]): void {
    for (const event of events) applySagaEvent(this.#state, event)
    this.#carry.push(...events)
  }

  /**
   * Applies events locally and appends them, with whatever was deferred, in one atomic append. Appends are
   * queued, so concurrent callers (the steps of a parallel group) each get the version the last one left.
   */
  #commit(events: SagaEvent[], heartbeat = false): Promise<void> {
    const done = this.#appending.then(() => this.#append(events, heartbeat))
    this.#appending = done.catch(() => undefined)
    return done
  }

  async #append(events: SagaEvent[], heartbeat: boolean): Promise<void> {
    if (this.#signal.aborted) throw this.#stopReason()
    if (heartbeat && this.#state.status !== 'running' && this.#state.status !== 'compensating') return
    this.#appendedAt = this.#now()
    this.#defer(events)
    const batch = this.#carry
    this.#carry = []
    const { store, hooks } = this.#ctx.options
    this.#appendInFlight = true
    try {
      if (hooks?.beforeAppend) await hooks.beforeAppend(this.#state.sagaId, batch)
      try {
        await store.appendToStream(this.#stream, toNewEvents(batch, this.#ctx.options.appendMetadata), {
          expectedVersion: this.#durableVersion === 0 ? 'no_stream' : this.#durableVersion,
        })
      } catch (error) {
        if (isBulwarkError(error, 'E_WRONG_EXPECTED_VERSION')) throw new SagaConflict(this.#state.sagaId)
        throw error
      }
    } catch (error) {
      if (heartbeat && !(error instanceof SagaConflict)) {
        this.#renewalFailing = true
        // The local state stays "the stream plus what is carried": the batch rides along with the next append.
        this.#carry = [...batch, ...this.#carry]
        throw error
      }
      // The local state is ahead of the stream now: nothing of this run may go on (a sibling step's retry).
      this.#stop.abort(error)
      throw error
    } finally {
      this.#appendInFlight = false
    }
    this.#durableVersion += batch.length
    this.#renewalFailing = false
    this.#renewedAt = (batch[batch.length - 1]!.data as { at: number }).at
    if (hooks?.afterAppend) await hooks.afterAppend(this.#state.sagaId, batch)
    this.#emit(batch)
    if (this.#state.pastPivot) this.#disarmDeadline()
  }

  /** Why this run stopped: a conflict as is (the orchestrator reports the stream), anything else as an abort. */
  #stopReason(): Error {
    const reason: unknown = this.#signal.reason
    if (reason instanceof SagaConflict) return reason
    if (!this.#ctx.shutdown.aborted && reason instanceof Error) return reason
    return toAbortedError(this.#signal)
  }

  #emit(batch: SagaEvent[]): void {
    const { emitter } = this.#ctx
    for (const event of batch) {
      if (emitter.listenerCount(event.type) > 0) {
        ;(emitter.emit as (type: string, sagaId: string, data: unknown) => boolean)(
          event.type,
          this.#state.sagaId,
          event.data,
        )
      }
    }
  }

  /** Until the pivot, the saga's deadline aborts the running steps' signal. */
  #armDeadline(): void {
    const { deadline, pastPivot } = this.#state
    if (deadline === undefined || pastPivot) return
    const controller = new AbortController()
    this.#deadlineSignal = controller.signal
    const { clock } = this.#ctx.options
    this.#deadlineTimer = clock.setTimeout(
      () => controller.abort(new BulwarkError('E_SAGA_DEADLINE', `Saga ${this.#state.sagaId} passed its deadline`)),
      Math.max(0, deadline - clock.now()),
    )
  }

  #disarmDeadline(): void {
    if (this.#deadlineTimer === undefined) return
    this.#ctx.options.clock.clearTimeout(this.#deadlineTimer as never)
    this.#deadlineTimer = undefined
    this.#deadlineSignal = undefined
  }

  #executor(step: DefinedStep): StepExecutor | null {
    let execute = this.#ctx.executors.get(step)
    if (execute === undefined) {
      execute = buildExecutor(step.policies, this.#ctx.options.clock)
      this.#ctx.executors.set(step, execute)
    }
    return execute
  }

  #stepState(name: string): StepState {
    return this.#state.steps.find((s) => s.name === name)!
  }

  #definedStep(name: string): DefinedStep {
    return this.#definition.steps.find((s) => s.name === name)!
  }

  #now(): number {
    return this.#ctx.options.clock.now()
  }
}

/** Compensations record no calls: they have no start record (see the module comment). */
const noRecord = () => Promise.resolve()

function needsCompensation(step: StepState): boolean {
  if (step.kind !== 'compensatable') return false
  return step.status === 'executed' || step.status === 'started' || (step.status === 'failed' && step.uncertain)
}

function deadlineFailure(): SagaFailure {
  return { message: 'The saga passed its deadline before its pivot', code: 'E_SAGA_DEADLINE' }
}
