/** What the PostgreSQL store reads back, and how driver errors become Bulwark errors. */
import { BulwarkError, isBulwarkError } from '../../core/errors.js'
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
 * Turns a driver error into the error the caller gets, always a Bulwark error with the driver's as its
 * `cause`: Bulwark errors pass through; text PostgreSQL cannot store (shared validation refuses it
 * first, so this is a last guard) becomes `E_INVALID_EVENT`, since nothing was written; everything else,
 * an unreachable server or a failing one (a dropped table, a full disk), becomes `E_STORE_UNAVAILABLE`.
 */
export function toStoreError(error: unknown): unknown {
  if (isBulwarkError(error)) return error
  const code = (error as { code?: unknown } | null)?.code
  const message = (error as Error | null)?.message ?? String(error)
  if (typeof code === 'string' && (UNAVAILABLE.test(code) || SOCKET_ERRORS.has(code)))
    return new BulwarkError('E_STORE_UNAVAILABLE', `PostgreSQL is unavailable: ${message}`, { cause: error })
  if (code === '22P05' || code === '22021' || code === '22P02')
    return new BulwarkError('E_INVALID_EVENT', `PostgreSQL cannot store this JSON: ${message}`, { cause: error })
  return new BulwarkError('E_STORE_UNAVAILABLE', `PostgreSQL failed: ${message}`, {
    cause: error,
    context: { sqlState: code },
  })
}
