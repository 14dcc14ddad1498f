/**
 * The PostgreSQL event store (`bulwark/eventstore/postgres`). Needs `pg` (an optional peer dependency).
 * How positions stay gap-free and in commit order is explained in `postgres-sql.ts`.
 */
import type pg from 'pg'
import type { Clock } from '../../core/clock.js'
import { type Duration, parseDuration } from '../../core/duration.js'
import { ValidationError } from '../../core/errors.js'
import { optionalBoolean, optionalNumber } from '../../core/validate.js'
import { StoreClosedError } from '../errors.js'
import {
  iterateAllPages,
  iterateStreamPages,
  type PreparedAppend,
  prepareAppend,
  prepareSnapshot,
  resolveStoreOptions,
  type StoredEventLocation,
  type UpcastFn,
  validateCheckpoint,
  validateId,
  validateListener,
  validateReadAllOptions,
  validateReadStreamOptions,
} from '../internal/index.js'
import { retryingAppend } from '../internal/retrying-append.js'
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  EventStoreOptions,
  JsonValue,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  Snapshot,
} from '../types.js'
import { loadPgDriver } from './postgres-driver.js'
import { PostgresListener } from './postgres-listener.js'
import { type EventRow, rowToRecordedEvent, toStoreError } from './postgres-rows.js'
import {
  appendMode,
  isValidSchemaName,
  MAX_SCHEMA_LENGTH,
  type PostgresStatements,
  postgresStatements,
  type Statement,
} from './postgres-sql.js'

/** Options of {@link postgresEventStore}. Give `pool` or `connectionString`. */
export interface PostgresEventStoreOptions extends EventStoreOptions {
  /** A pool the store uses and leaves open on `close()`. */
  pool?: pg.Pool
  /** A connection string: the store creates its own pool and ends it on `close()`. */
  connectionString?: string
  /** Size of the pool the store creates from `connectionString`. @default 10 */
  poolSize?: number
  /**
   * Schema that holds the tables (`events`, `streams`, `positions`, `snapshots`, `checkpoints`):
   * lower-case letters, digits and `_`, at most 48 characters.
   * @default 'bulwark_eventstore'
   */
  schema?: string
  /** Create the schema and tables (idempotently) before the first operation. When false, call `migrate()`. @default true */
  autoMigrate?: boolean
  /**
   * Send a NOTIFY with every append and LISTEN for them in `watch`, so subscribers in every process
   * wake as soon as events commit. When false, `watch` only hears this store's own appends.
   * @default true
   */
  notify?: boolean
  /** Wait between attempts to re-open the LISTEN connection after it drops. @default '1s' */
  listenRetryDelay?: Duration
}

/**
 * Creates a PostgreSQL event store.
 *
 * @example
 * ```ts
 * import { postgresEventStore } from 'bulwark/eventstore/postgres'
 *
 * const store = postgresEventStore({ connectionString: process.env.DATABASE_URL, schema: 'shop_events' })
 * await store.appendToStream('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' })
 * const history = await store.readStream('order-1')
 * await store.close()
 * ```
 */
export function postgresEventStore(options: PostgresEventStoreOptions): PostgresEventStore {
  return new PostgresEventStore(options)
}

/** The class behind {@link postgresEventStore}. */
export class PostgresEventStore implements EventStore {
  readonly #pool: pg.Pool
  readonly #ownsPool: boolean
  readonly #sql: PostgresStatements
  readonly #clock: Clock
  readonly #upcast: UpcastFn
  readonly #autoMigrate: boolean
  readonly #listener: PostgresListener
  #ready: Promise<void> | undefined
  #closed = false

  constructor(given: PostgresEventStoreOptions) {
    const { clock, upcast } = resolveStoreOptions(given)
    const options: PostgresEventStoreOptions = given ?? {}
    const { pool, connectionString, schema = 'bulwark_eventstore' } = options
    if (pool !== undefined && (typeof pool?.query !== 'function' || typeof pool.connect !== 'function'))
      throw new ValidationError('pool', 'a pg Pool', pool)
    if (pool === undefined && (typeof connectionString !== 'string' || connectionString === ''))
      throw new ValidationError('connectionString', 'a connection string (or pass `pool`)', connectionString)
    if (!isValidSchemaName(schema))
      throw new ValidationError(
        'schema',
        `a schema name of lower-case letters, digits and _ (at most ${MAX_SCHEMA_LENGTH} characters)`,
        schema,
      )
    const poolSize = optionalNumber('poolSize', options.poolSize, 10, { min: 1, integer: true })
    this.#clock = clock
    this.#upcast = upcast
    this.#autoMigrate = optionalBoolean('autoMigrate', options.autoMigrate, true)
    const notify = optionalBoolean('notify', options.notify, true)
    const retryDelayMs = parseDuration(options.listenRetryDelay ?? 1_000, 'listenRetryDelay')

    this.#ownsPool = pool === undefined
    this.#pool = pool ?? new (loadPgDriver().Pool)({ connectionString, max: poolSize })
    // An idle client of our own pool that loses its connection must not crash the process: the
    // next query gets a fresh connection or fails with a typed error.
    if (this.#ownsPool) this.#pool.on('error', () => {})
    this.#sql = postgresStatements(schema, notify)
    const listenConfig: pg.ClientConfig = pool ? { ...pool.options } : { connectionString }
    this.#listener = new PostgresListener({
      config: listenConfig,
      channel: notify ? this.#sql.channel : undefined,
      clock: this.#clock,
      retryDelayMs,
    })
  }

  /**
   * Creates the schema, tables and indexes if they do not exist. Safe to run from several processes at
   * once (they take turns on an advisory lock). Runs by itself before the first operation unless
   * `autoMigrate` is false; a store migrates at most once.
   */
  migrate(): Promise<void> {
    this.#assertOpen()
    this.#ready ??= this.#runMigration().catch((e: unknown) => {
      // A failed migration is retried by the next call rather than cached for ever.
      this.#ready = undefined
      throw e
    })
    return this.#ready
  }

  async #runMigration(): Promise<void> {
    const client = await this.#connect()
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`bulwark.eventstore.${this.#sql.channel}`])
      await client.query(this.#sql.migrate)
      await client.query('COMMIT')
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {})
      throw toStoreError(e)
    } finally {
      client.release()
    }
  }

  async appendToStream(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    this.#assertOpen()
    const append = prepareAppend(streamId, events, options, this.#clock)
    await this.#ensureReady()
    const mode = appendMode(append.expectedVersion)
    const values: unknown[] = [
      append.streamId,
      append.events.length,
      eventsJson(append),
      append.recordedAt.toISOString(),
    ]
    if (mode === 'exact') values.push(append.expectedVersion)
    const statement = { ...this.#sql.append[mode], values }
    const n = append.events.length
    const result = await retryingAppend(append, {
      tryAppend: async () => {
        const written = await this.#tryAppend(statement)
        return (
          written && {
            nextExpectedVersion: written.version,
            firstPosition: written.last - n + 1,
            lastPosition: written.last,
          }
        )
      },
      findStored: (ids) => this.#findStored(ids),
      streamVersion: () => this.streamVersion(append.streamId),
    })
    this.#listener.notifyLocal()
    return result
  }

  async #tryAppend(statement: pg.QueryConfig): Promise<{ version: number; last: number } | undefined> {
    try {
      const { rows } = await this.#pool.query<{ version: number; last: number }>(statement)
      return rows[0]
    } catch (e) {
      // A unique violation means a stored event id (or, in theory, version): the whole statement
      // rolled back, counter included, and the caller decides between idempotent repeat and conflict.
      if ((e as { code?: unknown }).code === '23505') return undefined
      throw toStoreError(e)
    }
  }

  async #findStored(ids: string[]): Promise<Map<string, StoredEventLocation>> {
    const { rows } = await this.#run<EventRow>(this.#sql.eventsByIds, [ids])
    // PostgreSQL's uuid type answers in lower case whatever case the id was written in.
    const asGiven = new Map(ids.map((id) => [id.toLowerCase(), id]))
    const stored = new Map<string, StoredEventLocation>()
    for (const row of rows)
      stored.set(asGiven.get(row.event_id) ?? row.event_id, {
        streamId: row.stream_id,
        streamVersion: row.stream_version,
        globalPosition: row.global_position,
      })
    return stored
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    this.#assertOpen()
    validateId(streamId)
    const { direction, fromVersion, maxCount } = validateReadStreamOptions(options)
    if (maxCount === 0) return []
    await this.#ensureReady()
    const forwards = direction === 'forwards'
    const from = fromVersion ?? (forwards ? 1 : Number.MAX_SAFE_INTEGER)
    const statement = forwards ? this.#sql.readStreamForwards : this.#sql.readStreamBackwards
    const { rows } = await this.#run<EventRow>(statement, [streamId, from, maxCount])
    return this.#toEvents(rows)
  }

  iterateStream(streamId: string, options?: ReadStreamOptions & { pageSize?: number }): AsyncIterable<RecordedEvent> {
    return iterateStreamPages((id, o) => this.readStream(id, o), streamId, options)
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    this.#assertOpen()
    const { after, maxCount, types, recordedFrom, recordedTo } = validateReadAllOptions(options)
    if (maxCount === 0 || types?.length === 0) return []
    await this.#ensureReady()
    const statement = this.#sql.readAll({
      types: types !== undefined,
      recordedFrom: recordedFrom !== undefined,
      recordedTo: recordedTo !== undefined,
    })
    const values: unknown[] = [after, maxCount]
    if (types) values.push(types)
    if (recordedFrom) values.push(recordedFrom.toISOString())
    if (recordedTo) values.push(recordedTo.toISOString())
    const { rows } = await this.#run<EventRow>(statement, values)
    return this.#toEvents(rows)
  }

  iterateAll(options?: ReadAllOptions & { pageSize?: number }): AsyncIterable<RecordedEvent> {
    return iterateAllPages((o) => this.readAll(o), options)
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#assertOpen()
    validateId(streamId)
    await this.#ensureReady()
    const { rows } = await this.#run<{ version: number }>(this.#sql.streamVersion, [streamId])
    return rows[0]?.version ?? 0
  }

  async headPosition(): Promise<number> {
    this.#assertOpen()
    await this.#ensureReady()
    const { rows } = await this.#run<{ last: number }>(this.#sql.headPosition, [])
    return rows[0]?.last ?? 0
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.#assertOpen()
    const { snapshot: s, stateJson } = prepareSnapshot(snapshot)
    await this.#ensureReady()
    await this.#run(this.#sql.saveSnapshot, [s.streamId, s.streamVersion, stateJson, s.schemaVersion])
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    this.#assertOpen()
    validateId(streamId)
    await this.#ensureReady()
    const { rows } = await this.#run<{ stream_version: number; state: JsonValue; schema_version: number }>(
      this.#sql.loadSnapshot,
      [streamId],
    )
    const row = rows[0]
    return row && { streamId, streamVersion: row.stream_version, state: row.state, schemaVersion: row.schema_version }
  }

  async loadCheckpoint(subscriptionId: string): Promise<number | undefined> {
    this.#assertOpen()
    validateId(subscriptionId, 'subscriptionId')
    await this.#ensureReady()
    const { rows } = await this.#run<{ position: number }>(this.#sql.loadCheckpoint, [subscriptionId])
    return rows[0]?.position
  }

  async storeCheckpoint(subscriptionId: string, position: number): Promise<void> {
    this.#assertOpen()
    validateCheckpoint(subscriptionId, position)
    await this.#ensureReady()
    await this.#run(this.#sql.storeCheckpoint, [subscriptionId, position])
  }

  /** Calls `listener` after events commit: from this store at once, from other processes through LISTEN/NOTIFY. */
  watch(listener: () => void): () => void {
    this.#assertOpen()
    return this.#listener.add(validateListener(listener))
  }

  /** Stops listening and ends the pool if the store created it; a pool passed in is left open. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#listener.stop()
    if (this.#ownsPool) await this.#pool.end()
  }

  #toEvents(rows: readonly EventRow[]): RecordedEvent[] {
    const events = new Array<RecordedEvent>(rows.length)
    for (let i = 0; i < rows.length; i++) events[i] = this.#upcast(rowToRecordedEvent(rows[i] as EventRow))
    return events
  }

  async #run<Row extends pg.QueryResultRow>(statement: Statement, values: unknown[]): Promise<pg.QueryResult<Row>> {
    try {
      return await this.#pool.query<Row>({ name: statement.name, text: statement.text, values })
    } catch (e) {
      throw toStoreError(e)
    }
  }

  async #connect(): Promise<pg.PoolClient> {
    try {
      return await this.#pool.connect()
    } catch (e) {
      throw toStoreError(e)
    }
  }

  #ensureReady(): Promise<void> | undefined {
    return this.#autoMigrate ? this.migrate() : undefined
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError('postgres')
  }
}

/** The batch as one JSON array, built from the JSON text `prepareAppend` already produced. */
function eventsJson(append: PreparedAppend): string {
  let json = '['
  for (let i = 0; i < append.events.length; i++) {
    const e = append.events[i] as PreparedAppend['events'][number]
    if (i > 0) json += ','
    json += `{"id":"${e.id}","type":${JSON.stringify(e.type)},"data":${e.dataJson},"metadata":${e.metadataJson}}`
  }
  return `${json}]`
}
