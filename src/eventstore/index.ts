/**
 * `bulwark/eventstore`: the event store port, the in-memory adapter, aggregates, subscriptions,
 * projections and upcasters. Adapters with a client library live in their own subpaths:
 * `bulwark/eventstore/sqlite`, `bulwark/eventstore/postgres`, `bulwark/eventstore/mongodb`.
 */
export type { MemoryEventStoreOptions } from './adapters/memory.js'
export { MemoryEventStore, memoryEventStore } from './adapters/memory.js'
export type {
  Aggregate,
  AggregateRepository,
  AggregateRepositoryOptions,
  DomainEvent,
  Handled,
  Loaded,
  RecordedOf,
  SnapshotPolicy,
} from './aggregate.js'
export { aggregateRepository } from './aggregate.js'
export { DuplicateEventIdError, StoreClosedError, WrongExpectedVersionError } from './errors.js'
export type { IdempotentOptions } from './idempotent.js'
export { idempotent } from './idempotent.js'
export type { ProjectionHandlers, ProjectionOptions } from './projection.js'
export { projection } from './projection.js'
export type { SubscribeOptions, Subscription } from './subscribe.js'
export { subscribe } from './subscribe.js'
export type {
  AppendOptions,
  AppendResult,
  EventMetadata,
  EventStore,
  EventStoreOptions,
  ExpectedVersion,
  JsonValue,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  Snapshot,
  Upcasters,
} from './types.js'
export type { UpcasterDefinitions, UpcastStep } from './upcasters.js'
export { upcasters } from './upcasters.js'
