/**
 * Internals shared by every event store adapter (memory, SQLite, PostgreSQL, MongoDB) so each one
 * validates, normalizes, checks versions, applies idempotency and upcasts the same way.
 * Not part of the public API: nothing here is re-exported from `bulwark/eventstore`.
 */
export type { StoredEventLocation } from './append-rules.js'
export { checkExpectedVersion, findIdempotentResult, givenIds } from './append-rules.js'
export { iterateAllPages, iterateStreamPages } from './iterate.js'
export { isPlainObject, toJson, toJsonValue } from './json.js'
export type { ResolvedStoreOptions } from './options.js'
export { resolveStoreOptions } from './options.js'
export type { PreparedAppend, PreparedEvent, PreparedSnapshot } from './prepare.js'
export { prepareAppend, prepareSnapshot, validateCheckpoint } from './prepare.js'
export type { StoredRow } from './records.js'
export { rowToEvent } from './records.js'
export type { ShellContext, StoreBackend, StoreWatch } from './shell.js'
export { EventStoreShell } from './shell.js'
export type { DescribeFailure, DriverFailure, StoreOperation } from './store-error.js'
export { toStoreError } from './store-error.js'
export type { UpcastFn } from './upcast.js'
export { makeUpcast } from './upcast.js'
export type { ValidReadAllOptions, ValidReadStreamOptions } from './validate.js'
export {
  MAX_ID_LENGTH,
  validateCount,
  validateEventType,
  validateId,
  validateListener,
  validatePageSize,
  validateReadAllOptions,
  validateReadStreamOptions,
} from './validate.js'
export { Watchers } from './watchers.js'
