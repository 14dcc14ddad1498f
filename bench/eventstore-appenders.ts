/**
 * The appenders the event store benchmark races: ours, a raw driver, and Emmett's stores, each behind
 * the same `() => Promise<void>` (append one event to its own stream, tracking the version as an
 * aggregate would). Shared by `eventstore.bench.ts` (in process) and `eventstore-worker.ts` (one child
 * process of the multi-process figure), so both measure exactly the same writes.
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { postgresEventStore } from '../src/eventstore/adapters/postgres.js'
import { postgresStatements } from '../src/eventstore/adapters/postgres-sql.js'
import { sqliteEventStore } from '../src/eventstore/adapters/sqlite.js'
import type { EventStore, NewEvent } from '../src/eventstore/types.js'

/** Who appends: our PostgreSQL/SQLite store, raw INSERTs with an identity column, or Emmett's stores. */
export type AppenderKind = 'bulwark-pg' | 'raw-identity' | 'emmett-pg' | 'bulwark-sqlite' | 'emmett-sqlite'

/** Where: the PostgreSQL URL and the schema of this kind, or the SQLite file. */
export interface AppenderTarget {
  databaseUrl: string
  schema: string
  file: string
}

/** A realistic event: an order with lines, and a correlation id. */
export const event = (i: number): NewEvent => ({
  type: i % 2 ? 'OrderPlaced' : 'OrderPaid',
  data: { orderId: `order-${i}`, total: 129.9, lines: [{ sku: 'SKU-1', qty: 2, price: 49.95 }], note: null },
  metadata: { correlationId: `c-${i}` },
})
export const batch = (n: number, offset: number) => Array.from({ length: n }, (_, i) => event(offset + i))

/** Appends `size` events at a time to its own stream with the version it tracks, as an aggregate would. */
export function appender(store: EventStore, stream: string, size: number) {
  let version = 0
  let i = 0
  return async () => {
    const result = await store.appendToStream(stream, batch(size, i), { expectedVersion: version })
    version = result.nextExpectedVersion
    i += size
  }
}

/** A connection string whose sessions use `schema` first: how Emmett's unqualified tables land in our schema. */
export const withSearchPath = (url: string, schema: string) =>
  `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`

/**
 * The raw driver's tables in `schema`: the store's own tables (so index upkeep costs the same), plus
 * `events_identity`, the same table with positions from an identity column: neither gap-free nor in
 * commit order, so its inserts commit in parallel.
 */
export async function createRawTables(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(postgresStatements(schema, false).migrate)
  await pool.query(
    `CREATE TABLE "${schema}".events_identity (LIKE "${schema}".events INCLUDING ALL);
     ALTER TABLE "${schema}".events_identity ALTER global_position ADD GENERATED ALWAYS AS IDENTITY`,
  )
}

/** Something that appends and can be closed. */
export interface AppenderSet {
  /** An appender of `size` events at a time (default 1) to `stream`. */
  make(stream: string, size?: number): () => Promise<void>
  close(): Promise<void>
}

/** Opens one store (or pool) of `kind` for `appenders` concurrent appenders. */
export async function openAppenders(
  kind: AppenderKind,
  target: AppenderTarget,
  appenders: number,
): Promise<AppenderSet> {
  switch (kind) {
    case 'bulwark-pg': {
      const store = postgresEventStore({ connectionString: target.databaseUrl, schema: target.schema })
      await store.migrate()
      return { make: (stream, size = 1) => appender(store, stream, size), close: () => store.close() }
    }
    case 'bulwark-sqlite': {
      const store = sqliteEventStore({ path: target.file })
      return { make: (stream, size = 1) => appender(store, stream, size), close: () => store.close() }
    }
    case 'raw-identity': {
      const pool = new pg.Pool({ connectionString: target.databaseUrl, max: Math.max(appenders, 2) })
      const text = `INSERT INTO "${target.schema}".events_identity
        (stream_id, stream_version, event_id, type, data, metadata, recorded_at)
        VALUES ($1, $2, $3::uuid, $4, $5::jsonb, $6::jsonb, $7::timestamptz)`
      return {
        make(stream) {
          let version = 0
          return async () => {
            const e = event(version)
            version++
            const metadata = { ...e.metadata, schemaVersion: 1, occurredAt: new Date().toISOString() }
            await pool.query({
              name: 'raw_identity_1',
              text,
              values: [
                stream,
                version,
                randomUUID(),
                e.type,
                JSON.stringify(e.data),
                JSON.stringify(metadata),
                new Date(),
              ],
            })
          }
        },
        close: () => pool.end(),
      }
    }
    case 'emmett-pg': {
      const { getPostgreSQLEventStore } = await import('@event-driven-io/emmett-postgresql')
      const store = getPostgreSQLEventStore(withSearchPath(target.databaseUrl, target.schema))
      await store.schema.migrate()
      return { make: (stream, size = 1) => emmettAppender(store, stream, size), close: () => store.close() }
    }
    case 'emmett-sqlite': {
      // Optional: not a dev dependency (see eventstore.bench.ts), so imported by a name TypeScript does not resolve.
      const name = '@event-driven-io/emmett-sqlite'
      const { getSQLiteEventStore } = (await import(name)) as {
        getSQLiteEventStore(options: { fileName: string }): EmmettStore
      }
      const store = getSQLiteEventStore({ fileName: target.file })
      return { make: (stream, size = 1) => emmettAppender(store, stream, size), close: async () => {} }
    }
  }
}

/** Appends of a peer that failed and were retried (see `emmettAppender`). */
export const peerFailures = { count: 0 }

interface EmmettStore {
  appendToStream(
    stream: string,
    events: { type: string; data: Record<string, unknown>; metadata?: Record<string, unknown> }[],
    options?: { expectedStreamVersion?: bigint | 'STREAM_DOES_NOT_EXIST' },
  ): Promise<{ nextExpectedStreamVersion: bigint }>
}

/** Emmett's append with its optimistic concurrency check, `size` events, version tracked like ours. */
function emmettAppender(store: EmmettStore, stream: string, size: number) {
  let version: bigint | undefined
  let i = 0
  return async () => {
    const events = batch(size, i).map((e) => ({
      type: e.type,
      data: e.data as Record<string, unknown>,
      metadata: e.metadata as Record<string, unknown>,
    }))
    i += size
    const append = () =>
      store.appendToStream(stream, events, { expectedStreamVersion: version ?? 'STREAM_DOES_NOT_EXIST' })
    // Emmett's SQLite store (0.42.4 on sqlite3 6.0.1) fails about 1% of its commits with "SQLITE_BUSY:
    // cannot commit transaction - SQL statements in progress", rolled back; an application would retry, so
    // the benchmark retries and counts them (`peerFailures`) instead of stopping.
    for (;;) {
      try {
        version = (await append()).nextExpectedStreamVersion
        return
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error
        peerFailures.count++
      }
    }
  }
}

/** Appends per second of `appenders` running `perAppender` appends each, all at once. */
export async function appendsPerSecond(appenders: (() => Promise<unknown>)[], perAppender: number): Promise<number> {
  const started = performance.now()
  await Promise.all(
    appenders.map(async (append) => {
      for (let k = 0; k < perAppender; k++) await append()
    }),
  )
  return Math.round((appenders.length * perAppender * 1000) / (performance.now() - started))
}
