/**
 * A saga's state is the fold of its stream. The orchestrator applies the events it appends with the same
 * `applySagaEvent`, so what it acts on is exactly what a reader of the stream would compute.
 */
import { BulwarkError } from '../core/errors.js'
import { SAGA_EVENT_TYPES, type SagaEvent } from './events.js'
import type { SagaState, StepState, TimelineEntry } from './types.js'

/**
 * Folds a saga's events (in stream order) into its state. Pure: the events are not modified.
 *
 * @example
 * ```ts
 * const events = await store.readStream(`saga-${sagaId}`)
 * const state = foldSaga(events)
 * state?.status // 'completed'
 * ```
 */
export function foldSaga(events: readonly { type: string; data: unknown }[]): SagaState | undefined {
  let state: SagaState | undefined
  for (const event of events) state = applySagaEvent(state, event as SagaEvent)
  return state
}

/**
 * Applies one event to a state, in place (the first event, SagaStarted, creates it). Unknown event types
 * are ignored so that a stream may carry the application's own annotations.
 */
export function applySagaEvent(state: SagaState | undefined, event: SagaEvent): SagaState {
  if (event.type === 'SagaStarted') {
    const { sagaId, name, input, plan, deadline, at } = event.data
    const steps: StepState[] = plan.map((p) => ({
      name: p.name,
      kind: p.kind,
      group: p.group,
      status: 'pending',
      attempts: 0,
      uncertain: false,
      failures: 0,
      compensationFailures: 0,
    }))
    const created: SagaState = {
      sagaId,
      name,
      status: 'running',
      phase: 'forward',
      input,
      outputs: {},
      steps,
      pastPivot: false,
      resolutions: [],
      startedAt: at,
      updatedAt: at,
      version: 1,
      timeline: [{ type: event.type, at }],
    }
    if (deadline !== null) created.deadline = deadline
    return created
  }
  if (!state) throw new BulwarkError('E_SAGA_STATE', `A saga stream must begin with SagaStarted, got ${event.type}`)
  state.version++
  if (!KNOWN.has(event.type)) return state
  state.updatedAt = event.data.at
  // A heartbeat only says that someone drives the saga (see `lease`): it is not a transition to show.
  if (event.type === 'SagaHeartbeat') return state
  const entry: TimelineEntry = { type: event.type, at: event.data.at }
  state.timeline.push(entry)
  switch (event.type) {
    case 'StepStarted': {
      const step = stepOf(state, event.data.step)
      step.status = 'started'
      step.attempts = Math.max(step.attempts, event.data.attempt)
      entry.step = step.name
      entry.attempt = event.data.attempt
      break
    }
    case 'StepExecuted': {
      const step = stepOf(state, event.data.step)
      step.status = 'executed'
      step.output = event.data.output
      step.uncertain = false
      state.outputs[step.name] = event.data.output
      if (step.kind === 'pivot') state.pastPivot = true
      entry.step = step.name
      break
    }
    case 'StepFailed': {
      const step = stepOf(state, event.data.step)
      step.status = 'failed'
      step.error = event.data.error
      step.uncertain = event.data.uncertain
      step.failures++
      // A step's own policy may retry inside one recorded call: the failure names the last call made.
      step.attempts = Math.max(step.attempts, event.data.attempt)
      entry.step = step.name
      entry.attempt = event.data.attempt
      entry.detail = event.data.error.message
      break
    }
    case 'CompensationStarted':
      state.status = 'compensating'
      state.phase = 'compensation'
      state.failure = event.data.reason
      entry.detail = event.data.reason.message
      break
    case 'StepCompensated':
      stepOf(state, event.data.step).status = 'compensated'
      entry.step = event.data.step
      break
    case 'CompensationFailed': {
      const step = stepOf(state, event.data.step)
      step.compensationFailures++
      step.compensationError = event.data.error
      entry.step = step.name
      entry.attempt = event.data.attempt
      entry.detail = event.data.error.message
      break
    }
    case 'SagaParked':
      state.status = 'parked'
      state.parkedReason = event.data.reason
      entry.step = event.data.step
      entry.detail = event.data.reason
      break
    case 'SagaResumed':
      state.status = activeStatus(state)
      for (const step of state.steps) {
        step.failures = 0
        step.compensationFailures = 0
      }
      break
    case 'SagaResolved': {
      const step = stepOf(state, event.data.step)
      step.status = 'resolved'
      if (state.phase === 'forward' && step.kind === 'pivot') state.pastPivot = true
      state.status = activeStatus(state)
      state.resolutions.push(event.data.note)
      entry.step = step.name
      entry.detail = event.data.note
      break
    }
    case 'SagaCompleted':
      state.status = 'completed'
      break
    case 'SagaAborted':
      state.status = 'aborted'
      break
  }
  return state
}

const KNOWN = new Set<string>(SAGA_EVENT_TYPES)

function activeStatus(state: SagaState): 'running' | 'compensating' {
  return state.phase === 'forward' ? 'running' : 'compensating'
}

function stepOf(state: SagaState, name: string): StepState {
  const step = state.steps.find((s) => s.name === name)
  if (!step) throw new BulwarkError('E_SAGA_STATE', `Saga ${state.sagaId} has no step ${JSON.stringify(name)}`)
  return step
}

/** Deep copy of a state, so callers can keep it while the orchestrator goes on folding its own. */
export function cloneState(state: SagaState): SagaState {
  return structuredClone(state)
}
