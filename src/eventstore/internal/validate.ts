import { type BulwarkErrorCode, ValidationError } from '../../core/errors.js'
import type { AppendOptions, ExpectedVersion, ReadAllOptions, ReadStreamOptions } from '../types.js'
import { isPlainObject } from './json.js'
import { isWellFormed } from './text.js'

/** Longest stream id, subscription id or event type accepted. */
export const MAX_ID_LENGTH = 256

// C0 controls and DEL: invisible in logs and unsafe in keys.
function hasControlChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return true
  }
  return false
}

/**
 * Whether `value` can name a stream, a subscription or an event type: non-empty, at most 256
 * characters, well-formed Unicode (a lone surrogate would merge two ids on some adapters), and no
 * control characters (invisible in logs and unsafe in keys; U+0000 cannot be stored by PostgreSQL).
 */
function isValidName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_ID_LENGTH &&
    !hasControlChar(value) &&
    isWellFormed(value)
  )
}

const VALID_NAME = `a non-empty string of at most ${MAX_ID_LENGTH} characters of well-formed Unicode (no lone surrogate) without control characters`

function fail(name: string, expected: string, received: unknown): never {
  throw new ValidationError(name, expected, received, { code: 'E_INVALID_ARGUMENT' })
}

/** Validates a `watch` listener: the same code (`E_INVALID_ARGUMENT`) from every adapter. */
export function validateListener(value: unknown): () => void {
  if (typeof value !== 'function') fail('listener', 'a function', value)
  return value as () => void
}

/** Validates a stream id, subscription id or similar key (see {@link isValidName}). */
export function validateId(value: unknown, name = 'streamId'): string {
  if (!isValidName(value)) fail(name, VALID_NAME, value)
  return value
}

/** Validates a non-negative integer argument (a version, a position, a count). */
export function validateCount(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(name, 'an integer >= 0', value)
  return value
}

function optionalCount(value: unknown, name: string): number | undefined {
  return value === undefined ? undefined : validateCount(value, name)
}

function validateOptionsObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {}
  if (!isPlainObject(value)) fail(name, 'an options object', value)
  return value
}

const EXPECTED_VERSION_WORDS: readonly string[] = ['any', 'no_stream', 'stream_exists']

/** Validates append options and returns the expected version (default `'any'`). */
export function validateAppendOptions(options: AppendOptions | undefined): ExpectedVersion {
  const { expectedVersion = 'any' } = validateOptionsObject(options, 'options') as AppendOptions
  if (typeof expectedVersion === 'string' && EXPECTED_VERSION_WORDS.includes(expectedVersion)) return expectedVersion
  if (typeof expectedVersion === 'number' && Number.isSafeInteger(expectedVersion) && expectedVersion >= 0)
    return expectedVersion
  return fail('expectedVersion', "an integer >= 0, 'any', 'no_stream' or 'stream_exists'", expectedVersion)
}

/** {@link ReadStreamOptions} with defaults applied. `fromVersion` stays undefined for "the natural start". */
export interface ValidReadStreamOptions {
  direction: 'forwards' | 'backwards'
  fromVersion: number | undefined
  maxCount: number
}

/** Validates readStream options. `maxCount` defaults to `Number.MAX_SAFE_INTEGER` (no limit). */
export function validateReadStreamOptions(options: ReadStreamOptions | undefined): ValidReadStreamOptions {
  const o = validateOptionsObject(options, 'options') as ReadStreamOptions
  const direction = o.direction ?? 'forwards'
  if (direction !== 'forwards' && direction !== 'backwards') fail('direction', "'forwards' or 'backwards'", o.direction)
  return {
    direction,
    fromVersion: optionalCount(o.fromVersion, 'fromVersion'),
    maxCount: optionalCount(o.maxCount, 'maxCount') ?? Number.MAX_SAFE_INTEGER,
  }
}

/** {@link ReadAllOptions} with defaults applied. */
export interface ValidReadAllOptions {
  after: number
  maxCount: number
  types: readonly string[] | undefined
  recordedFrom: Date | undefined
  recordedTo: Date | undefined
}

/** Validates readAll options. `maxCount` defaults to `Number.MAX_SAFE_INTEGER` (no limit). */
export function validateReadAllOptions(options: ReadAllOptions | undefined): ValidReadAllOptions {
  const o = validateOptionsObject(options, 'options') as ReadAllOptions
  if (o.types !== undefined) {
    if (!Array.isArray(o.types)) fail('types', 'an array of event types', o.types)
    for (const [i, t] of o.types.entries()) validateEventType(t, `types[${i}]`, 'E_INVALID_ARGUMENT')
  }
  return {
    after: optionalCount(o.after, 'after') ?? 0,
    maxCount: optionalCount(o.maxCount, 'maxCount') ?? Number.MAX_SAFE_INTEGER,
    types: o.types === undefined ? undefined : [...o.types],
    recordedFrom: optionalDate(o.recordedFrom, 'recordedFrom'),
    recordedTo: optionalDate(o.recordedTo, 'recordedTo'),
  }
}

/** Validates the `pageSize` of iterateStream/iterateAll (a positive integer, default 1000). */
export function validatePageSize(value: unknown): number {
  if (value === undefined) return 1000
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) fail('pageSize', 'an integer >= 1', value)
  return value
}

function optionalDate(value: unknown, name: string): Date | undefined {
  if (value === undefined) return undefined
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail(name, 'a valid Date', value)
  return value
}

/** Validates an event type: the same rules as a stream id (see {@link isValidName}). */
export function validateEventType(value: unknown, name: string, code: BulwarkErrorCode = 'E_INVALID_EVENT'): string {
  if (!isValidName(value)) throw new ValidationError(name, VALID_NAME, value, { code })
  return value
}
