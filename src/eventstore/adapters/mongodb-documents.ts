/**
 * The MongoDB store's documents: one document per event (so a stream has no 16 MB cap), and the
 * mapping between them and the events of the port. Pure functions, no driver import.
 */
import { type BulwarkErrorCode, ValidationError } from '../../core/errors.js'
import type { PreparedEvent } from '../internal/index.js'
import type { EventMetadata, JsonValue, RecordedEvent, Snapshot } from '../types.js'

/**
 * An event as stored. `_id` is the global position, so the collection's own primary index serves
 * `readAll` in position order and makes a position impossible to use twice.
 * Data and metadata are stored as BSON documents, not JSON text, so they can be queried and indexed.
 */
export interface EventDocument {
  _id: number
  streamId: string
  streamVersion: number
  eventId: string
  type: string
  data: JsonValue
  metadata: EventMetadata & { schemaVersion: number; occurredAt: string }
  recordedAt: Date
}

/** A stream's current version: the document every append claims for optimistic concurrency. */
export interface StreamDocument {
  _id: string
  version: number
}

/** The `_id` of the single counter document positions come from. */
export const COUNTER_ID = 'globalPosition'

/** The single counter document positions come from. */
export interface CounterDocument {
  _id: string
  last: number
}

export interface SnapshotDocument {
  _id: string
  streamVersion: number
  state: JsonValue
  schemaVersion: number
}

export interface CheckpointDocument {
  _id: string
  position: number
}

/**
 * The documents of one batch: event `i` gets stream version `firstVersion + i` and position
 * `firstPosition + i`, all with the batch's recording time.
 */
export function eventDocuments(
  streamId: string,
  events: readonly PreparedEvent[],
  firstVersion: number,
  firstPosition: number,
  recordedAt: Date,
): EventDocument[] {
  return events.map((e, i) => ({
    _id: firstPosition + i,
    streamId,
    streamVersion: firstVersion + i,
    eventId: e.id,
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    recordedAt,
  }))
}

/**
 * A stored document as the event a reader gets. Numbers come back as JS numbers whether BSON kept
 * them as int32, int64 (promoted by the driver's default `promoteLongs`) or double.
 */
export function documentToEvent(doc: EventDocument): RecordedEvent {
  return {
    id: doc.eventId,
    type: doc.type,
    data: doc.data,
    metadata: doc.metadata,
    streamId: doc.streamId,
    streamVersion: Number(doc.streamVersion),
    globalPosition: Number(doc._id),
    recordedAt: doc.recordedAt,
  }
}

export function snapshotDocument(snapshot: Snapshot): SnapshotDocument {
  return {
    _id: snapshot.streamId,
    streamVersion: snapshot.streamVersion,
    state: snapshot.state,
    schemaVersion: snapshot.schemaVersion,
  }
}

export function documentToSnapshot(doc: SnapshotDocument): Snapshot {
  return {
    streamId: doc._id,
    streamVersion: Number(doc.streamVersion),
    state: doc.state,
    schemaVersion: Number(doc.schemaVersion),
  }
}

/** The filter of `readAll`: positions after `after`, then the optional type and time filters. */
export function readAllFilter(options: {
  after: number
  types: readonly string[] | undefined
  recordedFrom: Date | undefined
  recordedTo: Date | undefined
}): Record<string, unknown> {
  const filter: Record<string, unknown> = { _id: { $gt: options.after } }
  if (options.types) filter.type = { $in: [...options.types] }
  if (options.recordedFrom || options.recordedTo) {
    const range: Record<string, Date> = {}
    if (options.recordedFrom) range.$gte = options.recordedFrom
    if (options.recordedTo) range.$lt = options.recordedTo
    filter.recordedAt = range
  }
  return filter
}

/** The largest document BSON and the server accept (`maxBsonObjectSize`, 16 MiB). */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024

/**
 * Throws a typed error, before anything is sent, when `doc` is over {@link MAX_DOCUMENT_BYTES} once
 * encoded (`size` is bson's `calculateObjectSize`): the driver would refuse it with a raw
 * `MongoInvalidArgumentError` in the middle of the transaction.
 */
export function checkDocumentSize(
  doc: object,
  name: string,
  code: BulwarkErrorCode,
  size: (doc: object) => number,
): void {
  const bytes = size(doc)
  if (bytes > MAX_DOCUMENT_BYTES)
    throw new ValidationError(
      name,
      `at most ${MAX_DOCUMENT_BYTES} bytes (16 MiB) as a MongoDB document, MongoDB's limit`,
      `a document of ${bytes} bytes`,
      { code },
    )
}

/**
 * The documents of a batch as large as they can get (positions and versions that need a double), to
 * check their size before the transaction.
 */
export function largestEventDocuments(
  streamId: string,
  events: readonly PreparedEvent[],
  recordedAt: Date,
): EventDocument[] {
  return eventDocuments(streamId, events, 2 ** 52, 2 ** 52, recordedAt)
}
