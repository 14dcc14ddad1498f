/**
 * The event store port's common behaviour, written once: every adapter (memory, SQLite, PostgreSQL,
 * MongoDB) is this shell over a narrow {@link StoreBackend} that only reads and writes. The shell owns
 * the closed check, argument validation, migrate-once, the early returns of reads that cannot match
 * anything, upcasting, paging (`iterateStream`, `iterateAll`), the `watch` listener check, and error
 * mapping: whatever a backend throws reaches the caller through {@link toStoreError}.
 */
import type { Clock } from '../../core/clock.js'
import { StoreClosedError } from '../errors.js'
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  EventStoreOptions,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  Snapshot,
} from '../types.js'
import { iterateAllPages, iterateStreamPages } from './iterate.js'
import { resolveStoreOptions } from './options.js'
import {
  type PreparedAppend,
  type PreparedSnapshot,
  prepareAppend,
  prepareSnapshot,
  validateCheckpoint,
} from './prepare.js'
import { type DescribeFailure, type StoreOperation, toStoreError } from './store-error.js'
import type { UpcastFn } from './upcast.js'
import {
  type ValidReadAllOptions,
  type ValidReadStreamOptions,
  validateId,
  validateListener,
  validateReadAllOptions,
  validateReadStreamOptions,
} from './validate.js'

type Awaitable<T> = T | Promise<T>

/** The listeners of a store's `watch`. */
export interface StoreWatch {
  /** Adds a listener; returns the function that removes it. */
  add(listener: () => void): () => void
  /** Wakes this process's listeners: the shell calls it after each append made through it. */
  notify(): void
}

/**
 * What an adapter implements: reads and writes, with arguments already validated and normalized.
 * Methods may answer synchronously (an embedded database) or with a promise.
 */
export interface StoreBackend {
  /** Reads the driver's errors; absent for a backend whose only errors are Bulwark errors (memory). */
  readonly describeError?: DescribeFailure
  /** Creates what the backend needs (tables, indexes); the shell runs it once, before the first operation. */
  migrate?(): Promise<void>
  /** Whether operations run `migrate` themselves; when false the user calls `migrate()`. @default true */
  readonly autoMigrate?: boolean
  /** Refuses, before anything is sent, an append this backend could not store (MongoDB's 16 MiB documents). */
  checkAppend?(append: PreparedAppend): void
  /** Refuses, before anything is sent, a snapshot this backend could not store. */
  checkSnapshot?(snapshot: PreparedSnapshot): void
  /**
   * Writes the batch atomically, in a transaction of the backend: returns the original result of a
   * repeated batch (idempotency), throws `WrongExpectedVersionError` or `DuplicateEventIdError`, or numbers
   * the events gap-free in commit order.
   */
  append(append: PreparedAppend): Awaitable<AppendResult>
  /** A stream's events as stored (the shell upcasts them); `maxCount` is at least 1. */
  readStream(streamId: string, options: ValidReadStreamOptions): Awaitable<RecordedEvent[]>
  /** Events in position order as stored (the shell upcasts them); `maxCount` is at least 1, `types` never empty. */
  readAll(options: ValidReadAllOptions): Awaitable<RecordedEvent[]>
  streamVersion(streamId: string): Awaitable<number>
  headPosition(): Awaitable<number>
  saveSnapshot(snapshot: PreparedSnapshot): Awaitable<void>
  loadSnapshot(streamId: string): Awaitable<Snapshot | undefined>
  loadCheckpoint(subscriptionId: string): Awaitable<number | undefined>
  storeCheckpoint(subscriptionId: string, position: number): Awaitable<void>
  /** The listeners of `watch`, and how they are woken across processes where the backend can. */
  readonly watchers: StoreWatch
  /** Waits for appends already queued, stops the watch, and closes what the backend opened itself. Called once. */
  close(): Promise<void>
}

/** What the shell gives the backend it opens. */
export interface ShellContext {
  readonly clock: Clock
  /** The store's migration, run once (what `migrate()` of the store does). */
  migrate(): Promise<void>
}

/**
 * The base class of every adapter's store class: `class SqliteEventStore extends EventStoreShell`.
 * The subclass checks its option names, then passes a function that opens its backend.
 */
export class EventStoreShell implements EventStore {
  readonly #adapter: string
  readonly #clock: Clock
  readonly #upcast: UpcastFn
  readonly #backend: StoreBackend
  readonly #autoMigrate: boolean
  #migration: Promise<void> | undefined
  #closed = false

  /**
   * @param adapter the adapter's name in `E_STORE_CLOSED` errors
   * @param options validated here for what every adapter shares (`clock`, `upcasters`), before the backend opens
   * @param open opens the backend (validating its own options)
   */
  constructor(adapter: string, options: EventStoreOptions | undefined, open: (context: ShellContext) => StoreBackend) {
    const { clock, upcast } = resolveStoreOptions(options)
    this.#adapter = adapter
    this.#clock = clock
    this.#upcast = upcast
    this.#backend = open({ clock, migrate: () => this.migrateOnce() })
    this.#autoMigrate = this.#backend.migrate !== undefined && this.#backend.autoMigrate !== false
  }

  async appendToStream(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    this.#assertOpen()
    const append = prepareAppend(streamId, events, options, this.#clock)
    this.#backend.checkAppend?.(append)
    if (this.#autoMigrate) await this.migrateOnce()
    const result = await this.#run('append', () => this.#backend.append(append))
    this.#backend.watchers.notify()
    return result
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    this.#assertOpen()
    validateId(streamId)
    const valid = validateReadStreamOptions(options)
    if (valid.maxCount === 0) return []
    if (this.#autoMigrate) await this.migrateOnce()
    return this.#upcastAll(await this.#run('read', () => this.#backend.readStream(streamId, valid)))
  }

  iterateStream(streamId: string, options?: ReadStreamOptions & { pageSize?: number }): AsyncIterable<RecordedEvent> {
    return iterateStreamPages((id, o) => this.readStream(id, o), streamId, options)
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    this.#assertOpen()
    const valid = validateReadAllOptions(options)
    if (valid.maxCount === 0 || valid.types?.length === 0) return []
    if (this.#autoMigrate) await this.migrateOnce()
    return this.#upcastAll(await this.#run('read', () => this.#backend.readAll(valid)))
  }

  iterateAll(options?: ReadAllOptions & { pageSize?: number }): AsyncIterable<RecordedEvent> {
    return iterateAllPages((o) => this.readAll(o), options)
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#assertOpen()
    validateId(streamId)
    if (this.#autoMigrate) await this.migrateOnce()
    return this.#run('read', () => this.#backend.streamVersion(streamId))
  }

  async headPosition(): Promise<number> {
    this.#assertOpen()
    if (this.#autoMigrate) await this.migrateOnce()
    return this.#run('read', () => this.#backend.headPosition())
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.#assertOpen()
    const prepared = prepareSnapshot(snapshot)
    this.#backend.checkSnapshot?.(prepared)
    if (this.#autoMigrate) await this.migrateOnce()
    await this.#run('write', () => this.#backend.saveSnapshot(prepared))
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    this.#assertOpen()
    validateId(streamId)
    if (this.#autoMigrate) await this.migrateOnce()
    return this.#run('read', () => this.#backend.loadSnapshot(streamId))
  }

  async loadCheckpoint(subscriptionId: string): Promise<number | undefined> {
    this.#assertOpen()
    validateId(subscriptionId, 'subscriptionId')
    if (this.#autoMigrate) await this.migrateOnce()
    return this.#run('read', () => this.#backend.loadCheckpoint(subscriptionId))
  }

  async storeCheckpoint(subscriptionId: string, position: number): Promise<void> {
    this.#assertOpen()
    validateCheckpoint(subscriptionId, position)
    if (this.#autoMigrate) await this.migrateOnce()
    await this.#run('write', () => this.#backend.storeCheckpoint(subscriptionId, position))
  }

  watch(listener: () => void): () => void {
    this.#assertOpen()
    return this.#backend.watchers.add(validateListener(listener))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#backend.close()
  }

  /**
   * Runs the backend's migration once; a failed attempt is not kept, so the next call runs it again.
   * The adapters whose backend migrates expose it as their public `migrate()`.
   */
  protected migrateOnce(): Promise<void> {
    this.#assertOpen()
    const migrate = this.#backend.migrate
    if (migrate === undefined) return Promise.resolve()
    this.#migration ??= migrate.call(this.#backend).catch((error: unknown) => {
      this.#migration = undefined
      throw this.#storeError(error, 'migrate')
    })
    return this.#migration
  }

  #upcastAll(events: RecordedEvent[]): RecordedEvent[] {
    const upcast = this.#upcast
    for (let i = 0; i < events.length; i++) events[i] = upcast(events[i] as RecordedEvent)
    return events
  }

  async #run<T>(operation: StoreOperation, call: () => Awaitable<T>): Promise<T> {
    try {
      return await call()
    } catch (error) {
      throw this.#storeError(error, operation)
    }
  }

  #storeError(error: unknown, operation: StoreOperation): unknown {
    const describe = this.#backend.describeError
    return describe === undefined ? error : toStoreError(error, describe, operation)
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError(this.#adapter)
  }
}
