import type { SagaEventData, SagaEventType } from './events.js'

/**
 * The saga events, listened to on the orchestrator itself: one per saga event type, emitted after the event
 * is committed to the saga's stream, with the saga id and the event's data. They are the stream's own
 * transitions; what concerns the orchestrators sharing a store is on `orchestrator.coordination`
 * ({@link SagaCoordinationEvents}).
 *
 * @example
 * ```ts
 * orchestrator.on('SagaParked', (sagaId, { reason }) => alert(`saga ${sagaId} needs a person: ${reason}`))
 * ```
 */
export type SagaOrchestratorEvents = {
  [T in SagaEventType]: (sagaId: string, data: SagaEventData[T]) => void
}

/**
 * Events of the orchestrators sharing a store, listened to on `orchestrator.coordination`. They record
 * nothing in the saga's stream.
 *
 * @example
 * ```ts
 * orchestrator.coordination.on('conflict', (sagaId) => log.warn(`saga ${sagaId} is driven by another orchestrator`))
 * ```
 */
export type SagaCoordinationEvents = {
  /** Another orchestrator appended to the saga's stream first; this one stopped driving it. */
  conflict: (sagaId: string) => void
}
