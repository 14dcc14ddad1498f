/**
 * `bulwark/saga`: sagas with compensations and crash recovery, whose log is an ordinary stream
 * (`saga-<sagaId>`) in the application's own event store.
 */
export type { DefinedStep, ParallelOutputs } from './define.js'
export { defineSaga, SagaDefinition } from './define.js'
export { SagaDefinitionError, SagaNotFoundError, SagaStateError } from './errors.js'
export type { PlannedStep, SagaEvent, SagaEventData, SagaEventType } from './events.js'
export { SAGA_EVENT_TYPES, sagaStreamId } from './events.js'
export { foldSaga } from './fold.js'
export type { SagaHooks, SagaOrchestratorOptions, SagaRetryOptions } from './options.js'
export type {
  ListSagasOptions,
  RecoverResult,
  StartSagaOptions,
} from './orchestrator.js'
export { createSagaOrchestrator, SagaOrchestrator } from './orchestrator.js'
export type { SagaCoordinationEvents, SagaOrchestratorEvents } from './orchestrator-events.js'
export type {
  CompensationContext,
  ParallelStepOptions,
  SagaDefinitionOptions,
  SagaFailure,
  SagaState,
  SagaStatus,
  StepContext,
  StepKind,
  StepOptions,
  StepPolicy,
  StepState,
  StepStatus,
  TimelineEntry,
} from './types.js'
