/**
 * The events of a saga's stream (`saga-<sagaId>`). Every transition of a saga is one of these; its state
 * is their fold (see fold.ts). Each event carries `at` (the orchestrator clock's time) so the fold does not
 * depend on the store's clock.
 */
import type { JsonValue } from '../eventstore/index.js'
import type { SagaFailure, StepKind } from './types.js'

/** One step of the plan recorded in SagaStarted, so a stream can be folded without its definition. */
export interface PlannedStep {
  name: string
  kind: StepKind
  group: number
}

/** Data of each saga event type. */
export interface SagaEventData {
  SagaStarted: {
    sagaId: string
    name: string
    input: unknown
    plan: PlannedStep[]
    deadline: number | null
    at: number
  }
  StepStarted: { step: string; attempt: number; at: number }
  StepExecuted: { step: string; output: unknown; at: number }
  StepFailed: { step: string; attempt: number; error: SagaFailure; uncertain: boolean; at: number }
  CompensationStarted: { reason: SagaFailure; at: number }
  StepCompensated: { step: string; at: number }
  CompensationFailed: { step: string; attempt: number; error: SagaFailure; at: number }
  SagaParked: { reason: string; step: string; at: number }
  SagaResumed: { at: number }
  SagaResolved: { step: string; note: string; at: number }
  SagaCompleted: { at: number }
  SagaAborted: { reason: SagaFailure; at: number }
  /** The driving orchestrator renews its lease: nothing else was recorded for a quarter of the lease. */
  SagaHeartbeat: { at: number }
}

export type SagaEventType = keyof SagaEventData

/** A saga event: `{ type, data }` with data typed by type. */
export type SagaEvent = { [T in SagaEventType]: { type: T; data: SagaEventData[T] } }[SagaEventType]

/** Every saga event type, e.g. to read them with `readAll({ types })`. */
export const SAGA_EVENT_TYPES: readonly SagaEventType[] = [
  'SagaStarted',
  'StepStarted',
  'StepExecuted',
  'StepFailed',
  'CompensationStarted',
  'StepCompensated',
  'CompensationFailed',
  'SagaParked',
  'SagaResumed',
  'SagaResolved',
  'SagaCompleted',
  'SagaAborted',
  'SagaHeartbeat',
]

/** The events that change whether a saga is finished, parked or active: what `recover()` and `list()` scan. */
export const LIFECYCLE_EVENT_TYPES: readonly SagaEventType[] = [
  'SagaStarted',
  'SagaParked',
  'SagaResumed',
  'SagaResolved',
  'SagaCompleted',
  'SagaAborted',
]

/** The stream that holds a saga's log. */
export function sagaStreamId(sagaId: string): string {
  return `saga-${sagaId}`
}

/** Builds a typed saga event. */
export function sagaEvent<T extends SagaEventType>(type: T, data: SagaEventData[T]): SagaEvent {
  return { type, data } as SagaEvent
}

/** The saga events as the store's `NewEvent`s (their data is JSON by construction). */
export function toNewEvents(events: readonly SagaEvent[]): { type: string; data: JsonValue }[] {
  return events as unknown as { type: string; data: JsonValue }[]
}

/** Turns anything thrown into the JSON shape recorded in the stream. */
export function toFailure(error: unknown, step?: string): SagaFailure {
  const failure: SagaFailure = { message: error instanceof Error ? error.message : String(error) }
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') failure.code = code
  if (step !== undefined) failure.step = step
  return failure
}

/** Codes that mean "we do not know whether the effect happened": the step is compensated anyway. */
const UNCERTAIN_CODES = new Set(['E_TIMEOUT', 'E_ABORTED', 'E_SAGA_DEADLINE'])

export function isUncertain(failure: SagaFailure): boolean {
  return failure.code !== undefined && UNCERTAIN_CODES.has(failure.code)
}
