/**
 * The MongoDB store against a real server, for what no unit test can show: how the server orders,
 * refuses and fails. Runs where MONGODB_URI points at a replica set (fail points need the server's
 * `enableTestCommands=1`, as test deployments have); here it says loudly that it was skipped.
 * Optional: MONGODB_STANDALONE_URI (a standalone mongod) and MONGODB_UNINITIATED_URI (a mongod started
 * with --replSet, never initiated) for the server checks.
 */
import { randomUUID } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { describeWithMongo, mongodbUrl } from '../../../test/services.js'
import type { Duration } from '../../core/duration.js'
import { isBulwarkError } from '../../core/errors.js'
import type { JsonValue } from '../types.js'
import { type MongoEventStore, mongoEventStore } from './mongodb.js'

describeWithMongo('mongodb event store on a server', () => {
  let client: MongoClient
  const databases: string[] = []
  const stores: MongoEventStore[] = []
  const open = (options: { watchRetryDelay?: Duration } = {}) => {
    const database = `es_srv_${randomUUID().replace(/-/g, '').slice(0, 20)}`
    databases.push(database)
    const store = mongoEventStore({ client, database, ...options })
    stores.push(store)
    return { store, db: client.db(database) }
  }
  const failPoint = (data: Record<string, unknown>, times: number) =>
    client.db('admin').command({ configureFailPoint: 'failCommand', mode: { times }, data })
  const noFailPoint = () => client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' })

  beforeAll(async () => {
    client = new MongoClient(mongodbUrl())
    await client.connect()
  })
  afterEach(async () => {
    await noFailPoint().catch(() => {})
    for (const store of stores.splice(0)) await store.close()
  })
  afterAll(async () => {
    for (const name of databases) await client.db(name).dropDatabase()
    await client.close()
  })

  async function positions(store: MongoEventStore): Promise<number[]> {
    return (await store.readAll()).map((e) => e.globalPosition)
  }
  const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

  it('gives $ and dotted keys back exactly, and refuses what BSON would change, writing nothing', async () => {
    const { store } = open()
    const data = { $set: { 'a.b': 1 }, $ref: 'a lone $ref', text: '🐻\ufffd', list: [{ $id: 2 }] }
    await store.appendToStream('s', [{ type: 'A', data }])
    expect((await store.readStream('s'))[0]?.data).toEqual(data)
    const refused: JsonValue[] = [{ link: { $ref: 'c', $id: 1 } }, { 'a\u0000b': 1 }, { s: 'x\ud83d' }]
    for (const bad of refused) {
      const error = await store.appendToStream('t', [{ type: 'A', data: bad }]).catch((e) => e)
      expect(isBulwarkError(error, 'E_INVALID_EVENT')).toBe(true)
    }
    const big = 'x'.repeat(17 * 1024 * 1024)
    const tooLarge = await store.appendToStream('t', [{ type: 'A', data: big }]).catch((e) => e)
    expect(isBulwarkError(tooLarge, 'E_INVALID_EVENT')).toBe(true)
    expect(tooLarge.message).toMatch(/16 MiB/)
    const snapshot = { streamId: 't', streamVersion: 1, state: big, schemaVersion: 1 }
    expect(isBulwarkError(await store.saveSnapshot(snapshot).catch((e) => e), 'E_INVALID_ARGUMENT')).toBe(true)
    expect(await positions(store)).toEqual([1])
  })

  it('concurrent appenders: a tight readAll loop never sees position p without p - 1', async () => {
    const { store } = open()
    const reader = mongoEventStore({ client, database: databases.at(-1) as string })
    stores.push(reader)
    let done = false
    const seen: number[] = []
    const probe = (async () => {
      while (!done || seen.length < 400) {
        const page = await reader.readAll({ after: seen.length })
        for (const e of page) {
          expect(e.globalPosition, 'a position skipped').toBe(seen.length + 1)
          seen.push(e.globalPosition)
        }
        if (done && page.length === 0 && seen.length >= 400) break
      }
    })()
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 50; i++) await store.appendToStream(`s-${(w + i) % 5}`, [{ type: 'A', data: { w, i } }])
      }),
    )
    done = true
    await probe
    expect(seen).toEqual(upTo(400))
  })

  it('a connection closed on commitTransaction: the append lands exactly once, no gap', async () => {
    const { store } = open()
    await store.appendToStream('s', [{ type: 'A', data: 0 }])
    await failPoint({ failCommands: ['commitTransaction'], closeConnection: true }, 1)
    await store.appendToStream('s', [{ type: 'A', data: 1 }])
    await store.appendToStream('s', [{ type: 'A', data: 2 }])
    expect(await positions(store)).toEqual([1, 2, 3])
  })

  it('WriteConflicts on insert are retried: exactly once, no gap', async () => {
    const { store } = open()
    await failPoint({ failCommands: ['insert'], errorCode: 112, errorLabels: ['TransientTransactionError'] }, 3)
    await store.appendToStream('s', [{ type: 'A', data: 1 }])
    await store.appendToStream('s', [{ type: 'A', data: 2 }])
    expect(await positions(store)).toEqual([1, 2])
  })

  it('a counter behind the events (a restore) fails at once with a clear error', async () => {
    const { store, db } = open()
    await store.appendToStream('s', [{ type: 'A', data: 1 }])
    await db.collection('eventstore_counters').updateOne({ _id: 'globalPosition' as never }, { $set: { last: 0 } })
    const error = await store.appendToStream('s', [{ type: 'A', data: 2 }]).catch((e) => e)
    expect(isBulwarkError(error, 'E_STORE_UNAVAILABLE')).toBe(true)
    expect(error.message).toMatch(/counter is behind the events/)
  })

  it('the watch comes back after its change stream is invalidated (counters collection renamed)', async () => {
    const { store, db } = open({ watchRetryDelay: '100ms' })
    const writer = mongoEventStore({ url: mongodbUrl(), database: db.databaseName })
    stores.push(writer)
    await store.migrate()
    let wakes = 0
    store.watch(() => {
      wakes++
    })
    const until = async (condition: () => boolean) => {
      for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 50))
      expect(condition()).toBe(true)
    }
    await until(() => wakes >= 1)
    await db.collection('eventstore_counters').rename('eventstore_counters_moved')
    await db.collection('eventstore_counters_moved').rename('eventstore_counters')
    const before = wakes
    await until(() => wakes > before) // woken once the stream is back
    const after = wakes
    await writer.appendToStream('s', [{ type: 'A', data: 1 }])
    await until(() => wakes > after) // and a write in another store wakes it again
  })
})

describe.each([
  ['MONGODB_STANDALONE_URI', /standalone mongod/],
  ['MONGODB_UNINITIATED_URI', /not initiated: run rs\.initiate\(\)/],
] as const)('a server without a replica set (%s)', (variable, message) => {
  const url = process.env[variable]
  if (!url) {
    console.warn(`!!! SKIPPED "a server without a replica set" (${variable} is not set)`)
    it.skip(`[SKIPPED: ${variable} not set] says why it cannot append`, () => {})
    return
  }
  it('says why it cannot append, and watch gives up instead of retrying every second', async () => {
    const store = mongoEventStore({ url, database: `es_srv_${randomUUID().slice(0, 8)}` })
    try {
      const error = await store.appendToStream('s', [{ type: 'A', data: 1 }]).catch((e) => e)
      expect(isBulwarkError(error, 'E_REPLICA_SET_REQUIRED')).toBe(true)
      expect(error.message).toMatch(message)
      let wakes = 0
      store.watch(() => {
        wakes++
      })
      await new Promise((r) => setTimeout(r, 2_500))
      expect(wakes).toBe(0)
    } finally {
      await store.close()
    }
  })
})
