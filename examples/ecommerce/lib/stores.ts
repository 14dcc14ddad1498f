import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { EventStore } from 'bulwark/eventstore'
import { sqliteEventStore } from 'bulwark/eventstore/sqlite'
import { countedDocTable, type DocTable, postgresDocTable, sqliteDocTable } from './doc-table.js'
import type { Metrics } from './metrics.js'
import type { Runtime } from './runtime.js'

/** A service's own data: its event store and its read tables, in the mode the environment chose. */
export interface Stores {
  events: EventStore
  docs: DocTable
  /** Where the data lives, for /ready and the logs. */
  describe: string
  /** A cheap query against each store (for /ready). */
  ping(): Promise<void>
  close(): Promise<void>
}

/**
 * Embedded: one SQLite file per service (events and read tables). `DATABASE_URL`: a PostgreSQL schema per
 * service. `MONGODB_URI`: the events in a MongoDB database per service, the read tables in SQLite.
 */
export async function openStores(rt: Runtime, metrics: Metrics): Promise<Stores> {
  const count = (collection: string, op: string) => metrics.dbQueries.inc({ collection, op })
  if (rt.databaseUrl) {
    const pg = (await import('pg')).default
    const { postgresEventStore } = await import('bulwark/eventstore/postgres')
    const schema = `${rt.prefix}_${rt.service}`.toLowerCase().replace(/[^a-z0-9_]/g, '_')
    const pool = new pg.Pool({ connectionString: rt.databaseUrl, max: 10 })
    const events = postgresEventStore({ pool, schema })
    // The event store creates the schema (replicas take turns on its lock) before the read table goes in it.
    await events.migrate()
    const docs = countedDocTable(await postgresDocTable(pool, schema), count)
    return {
      events,
      docs,
      describe: `postgresql schema ${schema}`,
      ping: async () => void (await pool.query('select 1')),
      close: async () => {
        await events.close()
        await pool.end()
      },
    }
  }
  mkdirSync(rt.dataDir, { recursive: true })
  const file = join(rt.dataDir, `${rt.service}.db`)
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 5000')
  const docs = countedDocTable(sqliteDocTable(db), count)
  if (rt.mongoUrl) {
    const { mongoEventStore } = await import('bulwark/eventstore/mongodb')
    const database = `${rt.prefix}_${rt.service}`
    const events = mongoEventStore({ url: rt.mongoUrl, database })
    return {
      events,
      docs,
      describe: `mongodb database ${database}, read tables in ${file}`,
      ping: async () => void (await events.headPosition()),
      close: async () => {
        await events.close()
        db.close()
      },
    }
  }
  const events = sqliteEventStore({ database: db })
  return {
    events,
    docs,
    describe: `sqlite ${file}`,
    ping: async () => void db.prepare('select 1').get(),
    close: async () => {
      await events.close()
      db.close()
    },
  }
}
