import type { SagaEventData, SagaEventType } from './events.js'

/**
 * Events of a saga orchestrator: one per saga event type, emitted after the event is committed to the
 * saga's stream, with the saga id and the event's data; plus `conflict` when another orchestrator drives
 * the saga.
 *
 * @example
 * ```ts
 * orchestrator.on('SagaParked', (sagaId, { reason }) => alert(`saga ${sagaId} needs a person: ${reason}`))
 * ```
 */
export type SagaOrchestratorEvents = {
  [T in SagaEventType]: (sagaId: string, data: SagaEventData[T]) => void
} & {
  /** Another orchestrator appended to the saga's stream first; this one stopped driving it. */
  conflict: (sagaId: string) => void
}
