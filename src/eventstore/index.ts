/**
 * `bulwark/eventstore`: the event store port, the in-memory adapter, aggregates, subscriptions,
 * projections and upcasters. Adapters with a client library live in their own subpaths:
 * `bulwark/eventstore/sqlite`, `bulwark/eventstore/postgres`, `bulwark/eventstore/mongodb`.
 */
export type { MemoryEventStoreOptions } from './adapters/memory.js'
export { MemoryEventStore, memoryEventStore } from './adapters/memory.js'
export { DuplicateEventIdError, StoreClosedError, WrongExpectedVersionError } from './errors.js'
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
