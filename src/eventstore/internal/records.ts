import type { EventMetadata, JsonValue, RecordedEvent } from '../types.js'

/** An event as adapters that keep JSON text (memory, SQLite) store it. */
export interface StoredRow {
  id: string
  type: string
  dataJson: string
  metadataJson: string
  streamId: string
  streamVersion: number
  globalPosition: number
  /** Milliseconds since the epoch. */
  recordedAt: number
}

/** Builds the {@link RecordedEvent} a reader gets: parsed anew each time, so readers cannot alter the store. */
export function rowToEvent(row: StoredRow): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    data: JSON.parse(row.dataJson) as JsonValue,
    metadata: JSON.parse(row.metadataJson) as EventMetadata & { schemaVersion: number; occurredAt: string },
    streamId: row.streamId,
    streamVersion: row.streamVersion,
    globalPosition: row.globalPosition,
    recordedAt: new Date(row.recordedAt),
  }
}
