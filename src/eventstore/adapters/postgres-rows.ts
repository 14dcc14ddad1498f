/** What the PostgreSQL store reads back, and how driver errors become Bulwark errors. */
import type { DescribeFailure } from '../internal/index.js'
import type { EventMetadata, JsonValue, RecordedEvent } from '../types.js'

/** A row of the events table as the statements select it (numbers cast to float8, jsonb parsed by pg). */
export interface EventRow {
  global_position: number
  stream_id: string
  stream_version: number
  event_id: string
  type: string
  data: JsonValue
  metadata: EventMetadata & { schemaVersion: number; occurredAt: string }
  recorded_at: Date
}

/** A row as the event a reader gets. pg parses each row anew, so readers cannot alter one another's events. */
export function rowToRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    globalPosition: row.global_position,
    recordedAt: row.recorded_at,
  }
}

// SQLSTATE classes that mean the server could not be reached or went away (08: connection exception,
// 57P: operator intervention such as a shutdown) and the socket errors node reports before any SQLSTATE.
const UNAVAILABLE = /^(08|57P)/
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'])

/**
 * How a driver error reaches the caller (through `toStoreError`, always a Bulwark error with the driver's
 * as its `cause`): text PostgreSQL cannot store (shared validation refuses it first, so this is a last
 * guard) is `E_INVALID_EVENT`, since nothing was written; everything else, an unreachable server or a
 * failing one (a dropped table, a full disk), is `E_STORE_UNAVAILABLE`.
 */
export const describePostgresError: DescribeFailure = (error) => {
  const code = (error as { code?: unknown } | null)?.code
  const message = (error as Error | null)?.message ?? String(error)
  if (typeof code === 'string' && (UNAVAILABLE.test(code) || SOCKET_ERRORS.has(code)))
    return { message: `PostgreSQL is unavailable: ${message}` }
  if (code === '22P05' || code === '22021' || code === '22P02')
    return { code: 'E_INVALID_EVENT', message: `PostgreSQL cannot store this JSON: ${message}` }
  return { message: `PostgreSQL failed: ${message}`, context: { sqlState: code } }
}
