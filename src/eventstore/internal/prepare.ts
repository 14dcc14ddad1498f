import { randomUUID } from 'node:crypto'
import type { Clock } from '../../core/clock.js'
import { ValidationError } from '../../core/errors.js'
import type { AppendOptions, EventMetadata, ExpectedVersion, JsonValue, NewEvent, Snapshot } from '../types.js'
import { isPlainObject, toJson, toJsonValue } from './json.js'
import { validateAppendOptions, validateCount, validateEventType, validateId } from './validate.js'

/** An event checked and normalized for writing: ids generated, metadata filled in, JSON serialized once. */
export interface PreparedEvent {
  id: string
  /** Whether the caller gave the id (only those can make an append idempotent). */
  idGiven: boolean
  type: string
  /** The data as it will be read back: the caller's value, without properties that are `undefined`. */
  data: JsonValue
  metadata: EventMetadata & { schemaVersion: number; occurredAt: string }
  /** `data` as JSON text. */
  dataJson: string
  /** `metadata` as JSON text. */
  metadataJson: string
}

/** An append checked in full before anything is written. */
export interface PreparedAppend {
  streamId: string
  expectedVersion: ExpectedVersion
  events: PreparedEvent[]
  /** The clock's time when the append was prepared: every adapter records the batch at this time. */
  recordedAt: Date
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function invalid(name: string, expected: string, received: unknown): never {
  throw new ValidationError(name, expected, received, { code: 'E_INVALID_EVENT' })
}

/**
 * Validates every argument of `appendToStream` and normalizes the events. Throws a typed
 * `E_INVALID_ARGUMENT` / `E_INVALID_EVENT` error before any write, so a bad third event of five
 * leaves the store untouched.
 */
export function prepareAppend(
  streamId: unknown,
  events: unknown,
  options: AppendOptions | undefined,
  clock: Clock,
): PreparedAppend {
  const id = validateId(streamId)
  const expectedVersion = validateAppendOptions(options)
  if (!Array.isArray(events) || events.length === 0)
    throw new ValidationError('events', 'a non-empty array of events', events, { code: 'E_INVALID_ARGUMENT' })
  const recordedAt = new Date(clock.now())
  const defaults = defaultMetadata(recordedAt.toISOString())
  const seen = new Set<string>()
  const prepared = events.map((event, i) => {
    const p = prepareEvent(event, `events[${i}]`, defaults)
    if (seen.has(p.id)) invalid(`events[${i}].id`, 'an id not repeated within one append', p.id)
    seen.add(p.id)
    return p
  })
  return { streamId: id, expectedVersion, events: prepared, recordedAt }
}

type Metadata = PreparedEvent['metadata']

interface DefaultMetadata {
  occurredAt: string
  metadata: Metadata
  json: string
}

// Most events carry no metadata: the whole batch shares one frozen default and its JSON.
function defaultMetadata(occurredAt: string): DefaultMetadata {
  const metadata = Object.freeze({ schemaVersion: 1, occurredAt })
  return { occurredAt, metadata, json: JSON.stringify(metadata) }
}

function prepareEvent(event: unknown, name: string, defaults: DefaultMetadata): PreparedEvent {
  if (!isPlainObject(event)) invalid(name, 'an event object { type, data, metadata? }', event)
  const { id, type, data, metadata } = event as unknown as NewEvent
  if (id !== undefined && (typeof id !== 'string' || !UUID.test(id))) invalid(`${name}.id`, 'a UUID', id)
  validateEventType(type, `${name}.type`)
  if (data === undefined) invalid(`${name}.data`, 'JSON data (use null for none)', data)
  const { json: dataJson, value: cleanData } = toJsonValue(data, `${name}.data`)
  const meta =
    metadata === undefined
      ? { metadata: defaults.metadata, json: defaults.json }
      : prepareMetadata(metadata, `${name}.metadata`, defaults.occurredAt)
  return {
    // UUIDs are case-insensitive: one spelling, so the same id in another case is the same event.
    id: id === undefined ? randomUUID() : id.toLowerCase(),
    idGiven: id !== undefined,
    type,
    data: cleanData,
    metadata: meta.metadata,
    dataJson,
    metadataJson: meta.json,
  }
}

function prepareMetadata(metadata: unknown, name: string, occurredAt: string): { metadata: Metadata; json: string } {
  if (!isPlainObject(metadata)) invalid(name, 'a metadata object', metadata)
  const m = metadata as EventMetadata
  for (const key of ['correlationId', 'causationId'] as const) {
    if (m[key] !== undefined && (typeof m[key] !== 'string' || m[key] === ''))
      invalid(`${name}.${key}`, 'a non-empty string', m[key])
  }
  const schemaVersion = m.schemaVersion ?? 1
  if (typeof schemaVersion !== 'number' || !Number.isSafeInteger(schemaVersion) || schemaVersion < 1)
    invalid(`${name}.schemaVersion`, 'an integer >= 1', schemaVersion)
  if (m.occurredAt !== undefined && (typeof m.occurredAt !== 'string' || Number.isNaN(Date.parse(m.occurredAt))))
    invalid(`${name}.occurredAt`, 'an ISO-8601 date string', m.occurredAt)
  const json = toJson({ ...m, schemaVersion, occurredAt: m.occurredAt ?? occurredAt }, name)
  return { metadata: JSON.parse(json) as Metadata, json }
}

/** A snapshot checked for writing, with its state serialized. */
export interface PreparedSnapshot {
  snapshot: Snapshot
  stateJson: string
}

/** Validates a snapshot before `saveSnapshot` writes it. */
export function prepareSnapshot(snapshot: unknown): PreparedSnapshot {
  if (!isPlainObject(snapshot))
    throw new ValidationError('snapshot', 'a snapshot object', snapshot, { code: 'E_INVALID_ARGUMENT' })
  const s = snapshot as unknown as Snapshot
  const streamId = validateId(s.streamId, 'snapshot.streamId')
  const streamVersion = validateCount(s.streamVersion, 'snapshot.streamVersion')
  const schemaVersion = validateCount(s.schemaVersion, 'snapshot.schemaVersion')
  if (s.state === undefined)
    throw new ValidationError('snapshot.state', 'JSON state', undefined, { code: 'E_INVALID_ARGUMENT' })
  const stateJson = toJson(s.state, 'snapshot.state', 'E_INVALID_ARGUMENT')
  return { snapshot: { streamId, streamVersion, schemaVersion, state: JSON.parse(stateJson) }, stateJson }
}

/** Validates the arguments of `storeCheckpoint`. */
export function validateCheckpoint(subscriptionId: unknown, position: unknown): void {
  validateId(subscriptionId, 'subscriptionId')
  validateCount(position, 'position')
}
