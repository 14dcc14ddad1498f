import { resolve } from 'node:path'
import type Database from 'better-sqlite3'
import type { Clock } from '../../core/clock.js'
import type { Duration } from '../../core/duration.js'
import { BulwarkError, isBulwarkError, ValidationError } from '../../core/errors.js'
import { loadPeer } from '../../core/peer.js'
import { expectOneOf, expectOptions, optionalDuration, optionKeys } from '../../core/validate.js'
import { StoreClosedError } from '../errors.js'
import { GroupCommit } from '../internal/group-commit.js'
import {
  checkExpectedVersion,
  findIdempotentResult,
  iterateAllPages,
  iterateStreamPages,
  type PreparedAppend,
  prepareAppend,
  prepareSnapshot,
  resolveStoreOptions,
  rowToEvent,
  type StoredEventLocation,
  type StoredRow,
  type UpcastFn,
  validateCheckpoint,
  validateId,
  validateListener,
  validateReadAllOptions,
  validateReadStreamOptions,
  Watchers,
} from '../internal/index.js'
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
import { MAX_ROUND, roundRunner } from './sqlite-round.js'
import { type ReadAllShape, readAllSql, schemaSql, statementsSql } from './sqlite-schema.js'

/** Options of {@link sqliteEventStore}: give `path` or `database`. */
export interface SqliteEventStoreOptions extends EventStoreOptions {
  /** Database file, created with its tables when missing. `':memory:'` for a private, volatile store. */
  path?: string
  /** An open better-sqlite3 database instead of `path`. The store sets its pragmas but never closes it. */
  database?: Database.Database
  /**
   * `'normal'`: `synchronous = NORMAL` in WAL mode; a commit survives a crash of the process, and the
   * database is never corrupted, but the last commits before an OS crash or power loss may be lost.
   * `'full'`: `synchronous = FULL`; every commit is synced to disk before the append resolves.
   * @default 'normal'
   */
  durability?: 'normal' | 'full'
  /** How long a write waits for another process holding the write lock before failing. @default '5s' */
  busyTimeout?: Duration
  /** Prefix of the table names (`<prefix>events`, `<prefix>snapshots`, `<prefix>checkpoints`). @default 'bulwark_' */
  tablePrefix?: string
}

/**
 * The embedded event store: one SQLite file (better-sqlite3, WAL mode), nothing else to run.
 *
 * Each append is one `BEGIN IMMEDIATE` transaction, so appends are serialized by SQLite's single
 * writer. Inside it the store checks idempotency and the expected version, then numbers the events
 * from `max(position) + 1`: a failed append rolls back before anything is visible and leaves no gap,
 * and positions are in commit order because only one writer runs at a time, in this process or another.
 * Reads see committed data only (WAL snapshot). `watch` wakes listeners of every store opened on the
 * same file in this process; other processes are found by polling.
 *
 * @example
 * ```ts
 * import { sqliteEventStore } from 'bulwark/eventstore/sqlite'
 *
 * const store = sqliteEventStore({ path: './events.db' })
 * await store.appendToStream('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' })
 * ```
 */
export function sqliteEventStore(options: SqliteEventStoreOptions): SqliteEventStore {
  return new SqliteEventStore(options)
}

type Statements = { [K in keyof ReturnType<typeof statementsSql>]: Database.Statement }

/** The class behind {@link sqliteEventStore}. */
export class SqliteEventStore implements EventStore {
  readonly #db: Database.Database
  readonly #ownsDb: boolean
  readonly #prefix: string
  readonly #clock: Clock
  readonly #upcast: UpcastFn
  readonly #sql: Statements
  readonly #readAll = new Map<string, Database.Statement>()
  readonly #rounds: GroupCommit<PreparedAppend, AppendResult>
  readonly #watch: SharedWatchers
  #closed = false

  constructor(options: SqliteEventStoreOptions) {
    expectOptions(
      'options',
      options,
      optionKeys<SqliteEventStoreOptions>({
        path: true,
        database: true,
        durability: true,
        busyTimeout: true,
        tablePrefix: true,
        clock: true,
        upcasters: true,
      }),
    )
    const { clock, upcast } = resolveStoreOptions(options)
    this.#clock = clock
    this.#upcast = upcast
    const { path, database, tablePrefix = 'bulwark_' } = options
    if ((path === undefined) === (database === undefined))
      throw new ValidationError('path', 'a file path, or else a `database` (exactly one of the two)', path)
    if (path !== undefined && (typeof path !== 'string' || path === ''))
      throw new ValidationError('path', 'a file path', path)
    if (database !== undefined && typeof database?.prepare !== 'function')
      throw new ValidationError('database', 'a better-sqlite3 Database', database)
    if (typeof tablePrefix !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(tablePrefix))
      throw new ValidationError('tablePrefix', 'letters, digits and _ (not starting with a digit)', tablePrefix)
    const durability = expectOneOf('durability', options.durability ?? 'normal', ['normal', 'full'])
    const busyTimeout = optionalDuration('busyTimeout', options.busyTimeout, 5_000)
    this.#prefix = tablePrefix
    this.#ownsDb = database === undefined
    // The driver is loaded only now: importing this module never needs it (E_MISSING_PEER when absent).
    const Driver = database ? undefined : loadPeer<typeof Database>('better-sqlite3', 'bulwark/eventstore/sqlite')
    this.#db = database ?? wrapDriverError(() => new (Driver as typeof Database)(path as string))
    try {
      this.#db.pragma('journal_mode = WAL')
      this.#db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`)
      this.#db.pragma(`busy_timeout = ${Math.round(busyTimeout)}`)
      this.#db.exec(schemaSql(tablePrefix))
      const sql = statementsSql(tablePrefix)
      this.#sql = Object.fromEntries(
        Object.entries(sql).map(([name, text]) => [name, this.#db.prepare(text)]),
      ) as Statements
    } catch (error) {
      if (this.#ownsDb) this.#db.close()
      throw toStoreError(error, 'open')
    }
    this.#rounds = new GroupCommit({
      runRound: roundRunner(
        this.#db,
        (a) => this.#appendInTransaction(a),
        (e) => toStoreError(e, 'append'),
      ),
      maxRound: MAX_ROUND,
    })
    this.#watch = SharedWatchers.acquire(this.#db, tablePrefix)
  }

  async appendToStream(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    this.#assertOpen()
    const append = prepareAppend(streamId, events, options, this.#clock)
    const ms = append.recordedAt.getTime()
    for (const e of append.events) if (!e.idGiven) e.id = timeOrderedId(e.id, ms)
    const result = await this.#rounds.submit(append)
    this.#watch.watchers.notify()
    return result
  }

  /** Runs inside BEGIN IMMEDIATE: nothing else writes until it returns, and a throw rolls it all back. */
  #appendInTransaction(append: PreparedAppend): AppendResult {
    const { streamId, events } = append
    if (events.some((e) => e.idGiven)) {
      const found = events.map((e) =>
        e.idGiven ? (this.#sql.findById.get(e.id) as StoredEventLocation | undefined) : undefined,
      )
      const repeated = findIdempotentResult(streamId, events, found)
      if (repeated) return repeated
    }
    let version = (this.#sql.streamVersion.get(streamId) as { v: number }).v
    checkExpectedVersion(streamId, append.expectedVersion, version)
    const recordedAt = append.recordedAt.getTime()
    // SQLite numbers each row max(position) + 1 (an INTEGER PRIMARY KEY without AUTOINCREMENT), under the
    // write lock held since BEGIN IMMEDIATE: the same numbering as reading the head first, one query fewer.
    let firstPosition = 0
    let lastPosition = 0
    for (const e of events) {
      const row = this.#sql.insert.run(e.id, streamId, ++version, e.type, e.dataJson, e.metadataJson, recordedAt)
      lastPosition = Number(row.lastInsertRowid)
      if (firstPosition === 0) firstPosition = lastPosition
    }
    return { nextExpectedVersion: version, firstPosition, lastPosition }
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    this.#assertOpen()
    validateId(streamId)
    const { direction, fromVersion, maxCount } = validateReadStreamOptions(options)
    if (maxCount === 0) return []
    const rows =
      direction === 'forwards'
        ? this.#run('read', () => this.#sql.readForwards.all(streamId, fromVersion ?? 1, limit(maxCount)))
        : this.#run('read', () =>
            this.#sql.readBackwards.all(streamId, fromVersion ?? Number.MAX_SAFE_INTEGER, limit(maxCount)),
          )
    return this.#toEvents(rows as StoredRow[])
  }

  iterateStream(streamId: string, options?: ReadStreamOptions & { pageSize?: number }): AsyncIterable<RecordedEvent> {
    return iterateStreamPages((id, o) => this.readStream(id, o), streamId, options)
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    this.#assertOpen()
    const { after, maxCount, types, recordedFrom, recordedTo } = validateReadAllOptions(options)
    if (maxCount === 0) return []
    const shape: ReadAllShape = {
      types: types !== undefined,
      from: recordedFrom !== undefined,
      to: recordedTo !== undefined,
    }
    const params: (number | string)[] = [after]
    if (types) params.push(JSON.stringify(types))
    if (recordedFrom) params.push(recordedFrom.getTime())
    if (recordedTo) params.push(recordedTo.getTime())
    params.push(limit(maxCount))
    const rows = this.#run('read', () => this.#readAllStatement(shape).all(...params))
    return this.#toEvents(rows as StoredRow[])
  }

  iterateAll(options?: ReadAllOptions & { pageSize?: number }): AsyncIterable<RecordedEvent> {
    return iterateAllPages((o) => this.readAll(o), options)
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#assertOpen()
    validateId(streamId)
    return this.#run('read', () => (this.#sql.streamVersion.get(streamId) as { v: number }).v)
  }

  async headPosition(): Promise<number> {
    this.#assertOpen()
    return this.#run('read', () => (this.#sql.head.get() as { v: number }).v)
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.#assertOpen()
    const { snapshot: s, stateJson } = prepareSnapshot(snapshot)
    this.#run('write', () => this.#sql.saveSnapshot.run(s.streamId, s.streamVersion, s.schemaVersion, stateJson))
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    this.#assertOpen()
    validateId(streamId)
    const row = this.#run('read', () => this.#sql.loadSnapshot.get(streamId)) as
      | (Omit<Snapshot, 'state'> & { state: string })
      | undefined
    return row && { ...row, state: JSON.parse(row.state) }
  }

  async loadCheckpoint(subscriptionId: string): Promise<number | undefined> {
    this.#assertOpen()
    validateId(subscriptionId, 'subscriptionId')
    return (this.#run('read', () => this.#sql.loadCheckpoint.get(subscriptionId)) as { v: number } | undefined)?.v
  }

  async storeCheckpoint(subscriptionId: string, position: number): Promise<void> {
    this.#assertOpen()
    validateCheckpoint(subscriptionId, position)
    this.#run('write', () => this.#sql.storeCheckpoint.run(subscriptionId, position))
  }

  watch(listener: () => void): () => void {
    this.#assertOpen()
    return this.#watch.watchers.add(validateListener(listener))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Appends already queued are written (or fail) before the database closes.
    await this.#rounds.idle()
    this.#watch.release()
    if (this.#ownsDb) this.#db.close()
  }

  #readAllStatement(shape: ReadAllShape): Database.Statement {
    const key = `${+shape.types}${+shape.from}${+shape.to}`
    let statement = this.#readAll.get(key)
    if (!statement) {
      statement = this.#db.prepare(readAllSql(this.#prefix, shape))
      this.#readAll.set(key, statement)
    }
    return statement
  }

  #toEvents(rows: StoredRow[]): RecordedEvent[] {
    const events = new Array<RecordedEvent>(rows.length)
    for (let i = 0; i < rows.length; i++) events[i] = this.#upcast(rowToEvent(rows[i] as StoredRow))
    return events
  }

  #run<T>(operation: string, fn: () => T): T {
    try {
      return fn()
    } catch (error) {
      throw toStoreError(error, operation)
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError('sqlite')
  }
}

/**
 * The random UUID the store generated, made time-ordered (the UUIDv7 layout: 48 bits of milliseconds,
 * version 7, then the v4's random bits). Random v4 ids land on a random page of the `event_id` index, one
 * more page written to the WAL per event; ids that grow with time all land on its last page, so a batch of
 * events dirties it once. Uniqueness still rests on the 74 random bits kept.
 */
export function timeOrderedId(randomV4: string, ms: number): string {
  const time = Math.min(Math.max(0, Math.trunc(ms)), 0xffff_ffff_ffff)
    .toString(16)
    .padStart(12, '0')
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomV4.slice(15)}`
}

/** SQLite's LIMIT: -1 is "no limit". */
function limit(maxCount: number): number {
  return maxCount >= Number.MAX_SAFE_INTEGER ? -1 : maxCount
}

/** Our own errors pass through; a driver error (SQLITE_BUSY, disk full, ...) becomes E_STORE_UNAVAILABLE. */
function toStoreError(error: unknown, operation: string): unknown {
  if (isBulwarkError(error)) return error
  const code = (error as { code?: unknown })?.code
  return new BulwarkError(
    'E_STORE_UNAVAILABLE',
    `SQLite event store ${operation} failed: ${(error as Error)?.message}`,
    {
      cause: error,
      context: { operation, sqliteCode: code },
    },
  )
}

function wrapDriverError<T>(fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    throw toStoreError(error, 'open')
  }
}

/**
 * Watchers shared by every store of this process opened on the same file and tables, so an append
 * through one store wakes subscriptions reading through another.
 */
class SharedWatchers {
  static readonly #byKey = new Map<string, SharedWatchers>()
  readonly watchers = new Watchers()
  #refs = 0

  private constructor(readonly key: string | undefined) {}

  static acquire(db: Database.Database, prefix: string): SharedWatchers {
    // A ':memory:' or temporary database is private to its connection: nothing to share.
    const key = db.memory || db.name === '' ? undefined : `${resolve(db.name)}\u0000${prefix}`
    const shared = (key && SharedWatchers.#byKey.get(key)) || new SharedWatchers(key)
    if (key) SharedWatchers.#byKey.set(key, shared)
    shared.#refs++
    return shared
  }

  release(): void {
    if (--this.#refs > 0) return
    this.watchers.clear()
    if (this.key) SharedWatchers.#byKey.delete(this.key)
  }
}
