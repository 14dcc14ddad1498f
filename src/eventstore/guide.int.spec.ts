/**
 * The snippets of docs/eventstore.md that need a server, run against one (see guide.unit.spec.ts for
 * the others and for the check that the guide prints them as they are here).
 */
import { MongoClient } from 'mongodb'
import pg from 'pg'
import { afterAll, expect, it } from 'vitest'
import { describeWithMongo, describeWithPostgres, mongodbUrl, postgresUrl } from '../../test/support/services.js'
import { isBulwarkError } from '../core/errors.js'
import { MongoReplicaSetRequiredError, mongoEventStore } from './adapters/mongodb.js'
import { postgresEventStore } from './adapters/postgres.js'

describeWithPostgres('the PostgreSQL snippet of the guide', () => {
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: postgresUrl() })
    await admin.connect()
    await admin.query('DROP SCHEMA IF EXISTS orders_es CASCADE')
    await admin.end()
  })

  it('runs as printed', async () => {
    const saved = process.env.DATABASE_URL
    process.env.DATABASE_URL = postgresUrl()
    try {
      // #region postgres
      const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 })
      const store = postgresEventStore({ pool, schema: 'orders_es', autoMigrate: false, listenRetryDelay: '2s' })
      await store.migrate() // e.g. in a deploy step; safe to run from several processes at once
      await store.close() // the pool is yours: it stays open
      await pool.end()
      // #endregion postgres
      expect(pool.ended).toBe(true)
    } finally {
      process.env.DATABASE_URL = saved
    }
  })
})

describeWithMongo('the MongoDB snippet of the guide', () => {
  it('runs as printed', async () => {
    const saved = process.env.MONGODB_URI
    process.env.MONGODB_URI = mongodbUrl()
    let migrated = false
    try {
      // #region mongodb
      const client = new MongoClient(process.env.MONGODB_URI ?? 'mongodb://localhost:27017/?replicaSet=rs0')
      const events = mongoEventStore({ client, database: 'shop', collectionPrefix: 'orders_', watchRetryDelay: '2s' })
      try {
        await events.migrate()
      } catch (e) {
        if (e instanceof MongoReplicaSetRequiredError) console.error(e.message)
        else if (isBulwarkError(e, 'E_STORE_UNAVAILABLE')) console.error('MongoDB is down')
        else throw e
      }
      await events.close()
      await client.close()
      // #endregion mongodb
      migrated = true
    } finally {
      process.env.MONGODB_URI = saved
      const cleanup = new MongoClient(mongodbUrl())
      for (const name of ['events', 'streams', 'counters', 'snapshots', 'checkpoints'])
        await cleanup
          .db('shop')
          .dropCollection(`orders_${name}`)
          .catch(() => {})
      await cleanup.close()
    }
    expect(migrated).toBe(true)
  })
})
