/**
 * What the event store adapters (memory, SQLite, PostgreSQL, MongoDB) build on: the shell that owns the
 * port's common behaviour (`EventStoreShell` over a `StoreBackend`), and the rules a backend applies
 * inside its transaction (idempotency, expected versions), so that all of them behave the same way.
 * Not part of the public API: nothing here is re-exported from `bulwark/eventstore`.
 */
export type { StoredEventLocation } from './append-rules.js'
export { checkExpectedVersion, findIdempotentResult, givenIds } from './append-rules.js'
export type { PreparedAppend, PreparedEvent, PreparedSnapshot } from './prepare.js'
export { prepareAppend, prepareSnapshot } from './prepare.js'
export type { StoredRow } from './records.js'
export { rowToEvent } from './records.js'
export type { ShellContext, StoreBackend, StoreWatch } from './shell.js'
export { EventStoreShell } from './shell.js'
export type { DescribeFailure, DriverFailure, StoreOperation } from './store-error.js'
export { toStoreError } from './store-error.js'
export type { ValidReadAllOptions, ValidReadStreamOptions } from './validate.js'
export { Watchers } from './watchers.js'
