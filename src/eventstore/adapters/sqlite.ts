import { resolve } from 'node:path'
import type Database from 'better-sqlite3'
import type { Duration } from '../../core/duration.js'
import { ValidationError } from '../../core/errors.js'
import { loadPeer } from '../../core/peer.js'
import { expectOneOf, expectOptions, optionalDuration, optionKeys } from '../../core/validate.js'
import { GroupCommit } from '../internal/group-commit.js'
import {
  checkExpectedVersion,
  type DescribeFailure,
  EventStoreShell,
  findIdempotentResult,
  type PreparedAppend,
  type PreparedSnapshot,
  rowToEvent,
  type StoreBackend,
  type StoredEventLocation,
  type StoredRow,
  toStoreError,
  type ValidReadAllOptions,
  type ValidReadStreamOptions,
  Watchers,
} from '../internal/index.js'
import type { AppendResult, EventStoreOptions, RecordedEvent, Snapshot } from '../types.js'
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
export class SqliteEventStore extends EventStoreShell {
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
    super('sqlite', options, () => new SqliteBackend(options))
  }
}

/** One better-sqlite3 database; every call runs synchronously, appends in group-committed rounds. */
class SqliteBackend implements StoreBackend {
  readonly describeError = describeSqliteError
  readonly #db: Database.Database
  readonly #ownsDb: boolean
  readonly #prefix: string
  readonly #sql: Statements
  readonly #readAll = new Map<string, Database.Statement>()
  readonly #rounds: GroupCommit<PreparedAppend, AppendResult>
  readonly #shared: SharedWatchers
  readonly watchers: Watchers

  constructor(options: SqliteEventStoreOptions) {
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
      throw toStoreError(error, describeSqliteError, 'open')
    }
    this.#rounds = new GroupCommit({
      runRound: roundRunner(
        this.#db,
        (a) => this.#appendInTransaction(a),
        (e) => toStoreError(e, describeSqliteError, 'append'),
      ),
      maxRound: MAX_ROUND,
    })
    this.#shared = SharedWatchers.acquire(this.#db, tablePrefix)
    this.watchers = this.#shared.watchers
  }

  append(append: PreparedAppend): Promise<AppendResult> {
    const ms = append.recordedAt.getTime()
    for (const e of append.events) if (!e.idGiven) e.id = timeOrderedId(e.id, ms)
    return this.#rounds.submit(append)
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

  readStream(streamId: string, { direction, fromVersion, maxCount }: ValidReadStreamOptions): RecordedEvent[] {
    const rows =
      direction === 'forwards'
        ? this.#sql.readForwards.all(streamId, fromVersion ?? 1, limit(maxCount))
        : this.#sql.readBackwards.all(streamId, fromVersion ?? Number.MAX_SAFE_INTEGER, limit(maxCount))
    return toEvents(rows as StoredRow[])
  }

  readAll({ after, maxCount, types, recordedFrom, recordedTo }: ValidReadAllOptions): RecordedEvent[] {
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
    return toEvents(this.#readAllStatement(shape).all(...params) as StoredRow[])
  }

  streamVersion(streamId: string): number {
    return (this.#sql.streamVersion.get(streamId) as { v: number }).v
  }

  headPosition(): number {
    return (this.#sql.head.get() as { v: number }).v
  }

  saveSnapshot({ snapshot: s, stateJson }: PreparedSnapshot): void {
    this.#sql.saveSnapshot.run(s.streamId, s.streamVersion, s.schemaVersion, stateJson)
  }

  loadSnapshot(streamId: string): Snapshot | undefined {
    const row = this.#sql.loadSnapshot.get(streamId) as (Omit<Snapshot, 'state'> & { state: string }) | undefined
    return row && { ...row, state: JSON.parse(row.state) }
  }

  loadCheckpoint(subscriptionId: string): number | undefined {
    return (this.#sql.loadCheckpoint.get(subscriptionId) as { v: number } | undefined)?.v
  }

  storeCheckpoint(subscriptionId: string, position: number): void {
    this.#sql.storeCheckpoint.run(subscriptionId, position)
  }

  async close(): Promise<void> {
    // Appends already queued are written (or fail) before the database closes.
    await this.#rounds.idle()
    this.#shared.release()
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
}

function toEvents(rows: StoredRow[]): RecordedEvent[] {
  const events = new Array<RecordedEvent>(rows.length)
  for (let i = 0; i < rows.length; i++) events[i] = rowToEvent(rows[i] as StoredRow)
  return events
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

/** A driver error (SQLITE_BUSY, disk full, ...): E_STORE_UNAVAILABLE naming the operation and SQLite's code. */
const describeSqliteError: DescribeFailure = (error, operation) => ({
  message: `SQLite event store ${operation} failed: ${(error as Error)?.message}`,
  context: { operation, sqliteCode: (error as { code?: unknown })?.code },
})

function wrapDriverError<T>(fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    throw toStoreError(error, describeSqliteError, 'open')
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
