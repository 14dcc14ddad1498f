import { randomUUID } from 'node:crypto'
import type { MongoClient } from 'mongodb'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { selectMongoDriver } from '../../../test/support/mongodb-drivers.js'
import { describeWithUrl } from '../../../test/support/mongodb-server.js'
import { describeWithMongo, mongodbUrl } from '../../../test/support/services.js'
import { isBulwarkError } from '../../core/errors.js'
import { eventStoreSuite } from '../../testing/eventstore-suite.js'
import { type MongoEventStore, mongoEventStore } from './mongodb.js'

// The driver MONGODB_DRIVER selects (6 or 7, default 7): test/support/mongodb-drivers.ts.
const driver = selectMongoDriver()

// Needs a replica set (MONGODB_URI, or Docker for testcontainers; MONGODB_URI_3 for a three-node set);
// otherwise it prints that it was skipped.
function storeTests(url: () => string): void {
  let client: MongoClient
  const databases: string[] = []
  const freshDatabase = () => {
    const name = `es_test_${randomUUID().replace(/-/g, '').slice(0, 20)}`
    databases.push(name)
    return name
  }
  const dropDatabases = async () => {
    for (const name of databases.splice(0)) await client.db(name).dropDatabase()
  }

  beforeAll(async () => {
    client = driver.client(url())
    await client.connect()
  })
  afterAll(async () => {
    await dropDatabases()
    await client.close()
  })

  // Every conformance test gets its own database, dropped after it.
  eventStoreSuite('mongodb', async (options) => {
    const database = freshDatabase()
    const store = mongoEventStore({ ...options, client, database })
    return {
      store,
      cleanup: async () => {
        await store.close()
        await client.db(database).dropDatabase()
      },
    }
  })

  const stores: MongoEventStore[] = []
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close()
    await dropDatabases()
  })

  it('stores one document per event, positions as _id, and a counter document', async () => {
    const database = freshDatabase()
    const store = mongoEventStore({ client, database })
    stores.push(store)
    await store.appendToStream('s', [
      { type: 'A', data: 1 },
      { type: 'B', data: { x: [1, 2] } },
    ])
    const db = client.db(database)
    const docs = await db.collection('eventstore_events').find().sort({ _id: 1 }).toArray()
    expect(docs.map((d) => [d._id, d.streamId, d.streamVersion, d.type])).toEqual([
      [1, 's', 1, 'A'],
      [2, 's', 2, 'B'],
    ])
    expect(await db.collection('eventstore_counters').findOne({ _id: 'globalPosition' as never })).toMatchObject({
      last: 2,
    })
    const indexes = (await db.collection('eventstore_events').indexes()).map((i) => [i.name, i.unique ?? false])
    expect(indexes).toEqual(
      expect.arrayContaining([
        ['stream_version', true],
        ['event_id', true],
      ]),
    )
  })

  it('wakes a watcher of another store through a change stream', async () => {
    const database = freshDatabase()
    const writer = mongoEventStore({ client, database })
    const reader = mongoEventStore({ url: url(), database })
    stores.push(writer, reader)
    await writer.migrate()
    let woke!: () => void
    const awake = new Promise<void>((resolve) => {
      woke = resolve
    })
    let started!: () => void
    const listening = new Promise<void>((resolve) => {
      started = resolve
    })
    let calls = 0
    reader.watch(() => {
      calls++
      if (calls === 1) started()
      else woke()
    })
    await listening
    await writer.appendToStream('s', [{ type: 'A', data: 1 }])
    await awake
    expect(calls).toBeGreaterThanOrEqual(2)
  })

  it('leaves a client it was given open on close, and closes one it created', async () => {
    const database = freshDatabase()
    const store = mongoEventStore({ client, database })
    await store.appendToStream('s', [{ type: 'A', data: 1 }])
    await store.close()
    expect(await client.db(database).collection('eventstore_events').countDocuments()).toBe(1)
    const own = mongoEventStore({ url: url(), database })
    expect(await own.streamVersion('s')).toBe(1)
    await own.close()
    await expect(own.streamVersion('s')).rejects.toMatchObject({ code: 'E_STORE_CLOSED' })
  })

  it('turns an unreachable server into E_STORE_UNAVAILABLE', async () => {
    const store = mongoEventStore({ url: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200' })
    stores.push(store)
    const error = await store.headPosition().catch((e) => e)
    expect(isBulwarkError(error, 'E_STORE_UNAVAILABLE')).toBe(true)
  })
}

describeWithMongo(`mongodb event store (${driver.name})`, () => storeTests(mongodbUrl))
describeWithUrl('MONGODB_URI_3', `mongodb event store on a three-node replica set (${driver.name})`, storeTests)
