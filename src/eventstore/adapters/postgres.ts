/**
 * The PostgreSQL event store (`bulwark/eventstore/postgres`). Needs `pg` (an optional peer dependency).
 * How positions stay gap-free and in commit order is explained in `postgres-sql.ts`.
 *
 * Appends are group-committed. While a round is being written, the appends this process makes queue
 * up; the next round writes all of them (at most 50) with one statement, so one transaction and one
 * WAL flush, each append in a subtransaction of its own so that it fails alone (`postgres-round.ts`).
 * Why this and not the other known design (positions from a sequence, readers gated on in-flight
 * transactions, a dense numbering pass afterwards), chosen by measurement (`bench:eventstore`):
 * - The counter row already gives dense positions in commit order; what made it slow was one WAL flush
 *   per append, taken one after another (a flush costs 1-4 ms on this project's machines, more than
 *   the rest of an append). A round pays one flush for every append its process had waiting, so 8
 *   appenders in one process went from 0.49x to 1.59x the rate of raw identity-column inserts (which
 *   flush in parallel but keep no order), measured back to back (docs/benchmarks.md).
 * - A sequence makes commits parallel but its positions have gaps and are not in commit order (Emmett,
 *   Marten); making them dense again takes a second write per event (its number) and a second commit
 *   before the append can report its position, so two flushes per append where a round needs one.
 * - The limit: rounds of different processes still take turns on the counter row, one flush each, so a
 *   process contributes only the appends it had waiting. With 4 processes of 2 appenders, rounds carry
 *   at most 2 appends: the benchmark's `processes_4x2_vs_raw_identity` shows what that costs.
 * - A lone append pays almost nothing: an idle queue starts its round on the next microtask.
 */
import type pg from 'pg'
import type { Clock } from '../../core/clock.js'
import type { Duration } from '../../core/duration.js'
import { ValidationError } from '../../core/errors.js'
import { expectOptions, optionalBoolean, optionalDuration, optionalNumber, optionKeys } from '../../core/validate.js'
import { GroupCommit, type Outcome } from '../internal/group-commit.js'
import {
  EventStoreShell,
  type PreparedAppend,
  type PreparedSnapshot,
  type StoreBackend,
  type StoredEventLocation,
  type ValidReadAllOptions,
  type ValidReadStreamOptions,
} from '../internal/index.js'
import { retryingAppend } from '../internal/retrying-append.js'
import type { AppendResult, EventStoreOptions, JsonValue, RecordedEvent, Snapshot } from '../types.js'
import { loadPgDriver } from './postgres-driver.js'
import { PostgresListener } from './postgres-listener.js'
import type { RoundRow } from './postgres-round.js'
import { describePostgresError, type EventRow, rowToRecordedEvent } from './postgres-rows.js'
import {
  type AppendMode,
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
   * Send a NOTIFY with every round of appends and LISTEN for them in `watch`, so subscribers in every process
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

/**
 * The class behind {@link postgresEventStore}. `watch` calls its listeners after events commit: at once
 * for this store's appends, through LISTEN/NOTIFY for other processes'. `close()` stops listening and
 * ends the pool if the store created it; a pool passed in is left open.
 */
export class PostgresEventStore extends EventStoreShell {
  constructor(given: PostgresEventStoreOptions) {
    expectOptions(
      'options',
      given,
      optionKeys<PostgresEventStoreOptions>({
        pool: true,
        connectionString: true,
        poolSize: true,
        schema: true,
        autoMigrate: true,
        notify: true,
        listenRetryDelay: true,
        clock: true,
        upcasters: true,
      }),
    )
    super('postgres', given, ({ clock }) => new PostgresBackend(given ?? {}, clock))
  }

  /**
   * Creates the schema, tables and indexes if they do not exist. Safe to run from several processes at
   * once (they take turns on an advisory lock). Runs by itself before the first operation unless
   * `autoMigrate` is false; a store migrates at most once.
   */
  migrate(): Promise<void> {
    return this.migrateOnce()
  }
}

/** A pg pool: appends in group-committed rounds, one statement each; reads by prepared statements. */
class PostgresBackend implements StoreBackend {
  readonly describeError = describePostgresError
  readonly autoMigrate: boolean
  readonly watchers: PostgresListener
  readonly #pool: pg.Pool
  readonly #ownsPool: boolean
  readonly #sql: PostgresStatements
  readonly #channel: string | null
  readonly #rounds: GroupCommit<RoundAppend, AppendResult | undefined>

  constructor(options: PostgresEventStoreOptions, clock: Clock) {
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
    this.autoMigrate = optionalBoolean('autoMigrate', options.autoMigrate, true)
    const notify = optionalBoolean('notify', options.notify, true)
    const retryDelayMs = optionalDuration('listenRetryDelay', options.listenRetryDelay, 1_000)

    this.#ownsPool = pool === undefined
    this.#pool = pool ?? new (loadPgDriver().Pool)({ connectionString, max: poolSize })
    // An idle client of our own pool that loses its connection must not crash the process: the
    // next query gets a fresh connection or fails with a typed error.
    if (this.#ownsPool) this.#pool.on('error', () => {})
    this.#sql = postgresStatements(schema, notify)
    const listenConfig: pg.ClientConfig = pool ? { ...pool.options } : { connectionString }
    this.#channel = notify ? this.#sql.channel : null
    this.#rounds = new GroupCommit({ runRound: (appends) => this.#runRound(appends), maxRound: MAX_ROUND })
    this.watchers = new PostgresListener({
      config: listenConfig,
      channel: notify ? this.#sql.channel : undefined,
      clock,
      retryDelayMs,
    })
  }

  async migrate(): Promise<void> {
    const client = await this.#pool.connect()
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`bulwark.eventstore.${this.#sql.channel}`])
      await client.query(this.#sql.migrate)
      await client.query('COMMIT')
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {})
      throw e
    } finally {
      client.release()
    }
  }

  append(append: PreparedAppend): Promise<AppendResult> {
    const request: RoundAppend = {
      streamId: append.streamId,
      mode: appendMode(append.expectedVersion),
      expected: typeof append.expectedVersion === 'number' ? append.expectedVersion : null,
      events: eventsJson(append),
      count: append.events.length,
      recordedAt: append.recordedAt,
    }
    return retryingAppend(append, {
      tryAppend: () => this.#rounds.submit(request),
      findStored: (ids) => this.#findStored(ids),
      streamVersion: () => this.streamVersion(append.streamId),
    })
  }

  /** One round: every queued append in one statement, so one transaction and one commit (see postgres-round.ts). */
  async #runRound(appends: readonly RoundAppend[]): Promise<Outcome<AppendResult | undefined>[]> {
    const n = appends.length
    const streamIds = new Array<string>(n)
    const modes = new Array<string>(n)
    const expected = new Array<number | null>(n)
    const batches = new Array<string>(n)
    const recorded = new Array<Date>(n)
    for (let i = 0; i < n; i++) {
      const a = appends[i] as RoundAppend
      streamIds[i] = a.streamId
      modes[i] = a.mode
      expected[i] = a.mode === 'exact' ? a.expected : null
      batches[i] = a.events
      recorded[i] = a.recordedAt
    }
    const { rows } = await this.#query<RoundRow>(this.#sql.round, [
      streamIds,
      modes,
      expected,
      batches,
      recorded,
      this.#channel,
    ])
    const outcomes = new Array<Outcome<AppendResult | undefined>>(n)
    for (const row of rows) outcomes[row.idx - 1] = roundOutcome(row, (appends[row.idx - 1] as RoundAppend).count)
    return outcomes
  }

  async #findStored(ids: string[]): Promise<Map<string, StoredEventLocation>> {
    const { rows } = await this.#query<EventRow>(this.#sql.eventsByIds, [ids])
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

  async readStream(
    streamId: string,
    { direction, fromVersion, maxCount }: ValidReadStreamOptions,
  ): Promise<RecordedEvent[]> {
    const forwards = direction === 'forwards'
    const from = fromVersion ?? (forwards ? 1 : Number.MAX_SAFE_INTEGER)
    const statement = forwards ? this.#sql.readStreamForwards : this.#sql.readStreamBackwards
    const { rows } = await this.#query<EventRow>(statement, [streamId, from, maxCount])
    return toEvents(rows)
  }

  async readAll({ after, maxCount, types, recordedFrom, recordedTo }: ValidReadAllOptions): Promise<RecordedEvent[]> {
    const statement = this.#sql.readAll({
      types: types !== undefined,
      recordedFrom: recordedFrom !== undefined,
      recordedTo: recordedTo !== undefined,
    })
    const values: unknown[] = [after, maxCount]
    if (types) values.push(types)
    if (recordedFrom) values.push(recordedFrom.toISOString())
    if (recordedTo) values.push(recordedTo.toISOString())
    const { rows } = await this.#query<EventRow>(statement, values)
    return toEvents(rows)
  }

  async streamVersion(streamId: string): Promise<number> {
    const { rows } = await this.#query<{ version: number }>(this.#sql.streamVersion, [streamId])
    return rows[0]?.version ?? 0
  }

  async headPosition(): Promise<number> {
    const { rows } = await this.#query<{ last: number }>(this.#sql.headPosition, [])
    return rows[0]?.last ?? 0
  }

  async saveSnapshot({ snapshot: s, stateJson }: PreparedSnapshot): Promise<void> {
    await this.#query(this.#sql.saveSnapshot, [s.streamId, s.streamVersion, stateJson, s.schemaVersion])
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    const { rows } = await this.#query<{ stream_version: number; state: JsonValue; schema_version: number }>(
      this.#sql.loadSnapshot,
      [streamId],
    )
    const row = rows[0]
    return row && { streamId, streamVersion: row.stream_version, state: row.state, schemaVersion: row.schema_version }
  }

  async loadCheckpoint(subscriptionId: string): Promise<number | undefined> {
    const { rows } = await this.#query<{ position: number }>(this.#sql.loadCheckpoint, [subscriptionId])
    return rows[0]?.position
  }

  async storeCheckpoint(subscriptionId: string, position: number): Promise<void> {
    await this.#query(this.#sql.storeCheckpoint, [subscriptionId, position])
  }

  /** Stops listening and ends the pool if the store created it; a pool passed in is left open. */
  async close(): Promise<void> {
    // Appends already queued are written (or fail) before the pool goes away.
    await this.#rounds.idle()
    await this.watchers.stop()
    if (this.#ownsPool) await this.#pool.end()
  }

  #query<Row extends pg.QueryResultRow>(statement: Statement, values: unknown[]): Promise<pg.QueryResult<Row>> {
    return this.#pool.query<Row>({ name: statement.name, text: statement.text, values })
  }
}

function toEvents(rows: readonly EventRow[]): RecordedEvent[] {
  const events = new Array<RecordedEvent>(rows.length)
  for (let i = 0; i < rows.length; i++) events[i] = rowToRecordedEvent(rows[i] as EventRow)
  return events
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

/** An append as a round takes it: checked, its events already one JSON array. */
interface RoundAppend {
  streamId: string
  mode: AppendMode
  expected: number | null
  events: string
  count: number
  recordedAt: Date
}

// Each append of a round is a subtransaction; past 64 in one transaction PostgreSQL's per-backend
// cache of subtransaction ids overflows and every other session's snapshot checks get slower.
const MAX_ROUND = 50

/** What a round's row means for its append: written, refused (the caller looks closer), or failed alone. */
function roundOutcome(row: RoundRow, count: number): Outcome<AppendResult | undefined> {
  // The error as the driver would have thrown it; the shell maps it like any other.
  if (row.err_code !== null)
    return { ok: false, error: Object.assign(new Error(row.err_message ?? ''), { code: row.err_code }) }
  if (row.new_version === null || row.new_last === null) return { ok: true, value: undefined }
  return {
    ok: true,
    value: {
      nextExpectedVersion: row.new_version,
      firstPosition: row.new_last - count + 1,
      lastPosition: row.new_last,
    },
  }
}
