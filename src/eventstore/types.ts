/**
 * The event store port. Every adapter (memory, SQLite, PostgreSQL, MongoDB) implements
 * {@link EventStore} and passes the conformance suite `eventStoreSuite` from `bulwark/testing`.
 *
 * Numbering:
 * - A stream's events have versions 1, 2, 3... A stream's current version is its last event's
 *   version, and 0 for a stream that does not exist.
 * - Every event has a global position 1, 2, 3... over the whole store: gap-free and in commit order, so
 *   a reader that has seen position p has seen every event committed before p's commit.
 */
import type { Clock } from '../core/clock.js'

/** A JSON value: what event data and metadata may hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** Metadata of an event. Known fields are typed; any other JSON field is kept as is. */
export interface EventMetadata {
  /** Id shared by every event that one business operation caused. */
  correlationId?: string
  /** Id of the event or command that caused this one. */
  causationId?: string
  /** Version of the event's data shape, for upcasting. @default 1 */
  schemaVersion?: number
  /** When the fact happened, as an ISO-8601 string; set to the recording time when absent. */
  occurredAt?: string
  [key: string]: JsonValue | undefined
}

/** An event to append. */
export interface NewEvent<Type extends string = string, Data extends JsonValue = JsonValue> {
  /** A UUID; generated when absent. Appending an id that the stream already holds is idempotent. */
  id?: string
  type: Type
  data: Data
  metadata?: EventMetadata
}

/** An event as stored. */
export interface RecordedEvent<Type extends string = string, Data extends JsonValue = JsonValue> {
  id: string
  type: Type
  data: Data
  /** Metadata with `schemaVersion` and `occurredAt` always filled in. */
  metadata: EventMetadata & { schemaVersion: number; occurredAt: string }
  streamId: string
  /** 1 for a stream's first event. */
  streamVersion: number
  /** 1 for the store's first event; gap-free, in commit order. */
  globalPosition: number
  /** When the store recorded the event (from the store's clock). */
  recordedAt: Date
}

/**
 * What the appender believes the stream's current version is:
 * a number (0 means the stream must not exist yet), `'no_stream'`, `'stream_exists'`, or `'any'`.
 */
export type ExpectedVersion = number | 'any' | 'no_stream' | 'stream_exists'

export interface AppendOptions {
  /** @default 'any' */
  expectedVersion?: ExpectedVersion
}

export interface AppendResult {
  /** The stream's version after the append: pass it as `expectedVersion` to the next append. */
  nextExpectedVersion: number
  /** Global position of the first appended event. */
  firstPosition: number
  /** Global position of the last appended event. */
  lastPosition: number
}

export interface ReadStreamOptions {
  /** @default 'forwards' */
  direction?: 'forwards' | 'backwards'
  /** First version to read (inclusive). Default: 1 forwards, the last version backwards. */
  fromVersion?: number
  /** At most this many events. @default no limit */
  maxCount?: number
}

export interface ReadAllOptions {
  /** Read events whose position is greater than this (exclusive). @default 0 */
  after?: number
  /** At most this many events. @default no limit */
  maxCount?: number
  /** Only events of these types. */
  types?: readonly string[]
  /** Only events recorded at or after this time. */
  recordedFrom?: Date
  /** Only events recorded before this time (exclusive). */
  recordedTo?: Date
}

/** A stored snapshot of an aggregate's state at `streamVersion`. */
export interface Snapshot<State extends JsonValue = JsonValue> {
  streamId: string
  streamVersion: number
  state: State
  /** Version of the snapshot's shape: snapshots with another version are ignored. */
  schemaVersion: number
}

/** The event store. */
export interface EventStore {
  /**
   * Appends `events` atomically: all are written or none is.
   * @throws WrongExpectedVersionError when `expectedVersion` does not match the stream's version
   */
  appendToStream(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>
  /** Reads a stream's events (upcast to their current shape). A missing stream reads as `[]`. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>
  /** Iterates a stream page by page, so a long stream never sits in memory at once. */
  iterateStream(streamId: string, options?: ReadStreamOptions & { pageSize?: number }): AsyncIterable<RecordedEvent>
  /** Reads events across all streams in global position order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>
  /** Iterates all events page by page, in global position order. */
  iterateAll(options?: ReadAllOptions & { pageSize?: number }): AsyncIterable<RecordedEvent>
  /** A stream's current version: 0 when it does not exist. */
  streamVersion(streamId: string): Promise<number>
  /** The highest committed global position (0 for an empty store). */
  headPosition(): Promise<number>
  /** Saves (replaces) a stream's snapshot. */
  saveSnapshot(snapshot: Snapshot): Promise<void>
  /** Loads a stream's snapshot, if any. */
  loadSnapshot(streamId: string): Promise<Snapshot | undefined>
  /** Durable checkpoint of a subscription: the last position it handled. */
  loadCheckpoint(subscriptionId: string): Promise<number | undefined>
  storeCheckpoint(subscriptionId: string, position: number): Promise<void>
  /**
   * Optional push notification: calls `listener` after events are committed (in this process, or
   * across processes where the adapter can, such as PostgreSQL LISTEN/NOTIFY). Returns an unsubscribe
   * function. Subscriptions poll when it is absent, and poll anyway at a slow rate as a safety net.
   */
  watch?(listener: () => void): () => void
  /** Closes connections the store opened itself. */
  close(): Promise<void>
}

/** Options every adapter factory accepts. */
export interface EventStoreOptions {
  /** Source of `recordedAt` and of `occurredAt` when absent. @default systemClock */
  clock?: Clock
  /** Upcasters applied to every event read. */
  upcasters?: Upcasters
}

/**
 * Upcasters by event type, then by the schema version they upgrade *from*: each function turns data of
 * version `n` into data of version `n + 1`. On read, an event is upgraded step by step to the newest
 * version registered for its type. Build them with `upcasters(...)`.
 */
export type Upcasters = Readonly<
  Record<string, Readonly<Record<number, (data: JsonValue, event: RecordedEvent) => JsonValue>>>
>
