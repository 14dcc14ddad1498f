/**
 * The MongoDB store against a real server, for what no unit test can show: how the server orders,
 * refuses and fails. Nothing here has run in this project's CI, which has no MongoDB: each test says
 * loudly that it was skipped.
 *
 * - `MONGODB_URI`: a replica set (one node or three). Fail points and `replSetStepDown` need the server's
 *   `enableTestCommands=1`, as test deployments have.
 * - `MONGODB_URI_3`: a three-node replica set; the same tests run against it too (replication lag needs
 *   two secondaries, and a direct connection to each: a `mongodb://` URL whose members' host names
 *   resolve here).
 * - `MONGODB_URI_STANDALONE` (a standalone mongod), `MONGODB_URI_UNINITIATED` (a mongod started with
 *   --replSet, never initiated; add `directConnection=true`).
 * - `MONGODB_DRIVER=6` runs all of it on driver 6.8 instead of 7.x (test/support/mongodb-drivers.ts).
 *
 * The step-down and replication-lag tests hold up every client of the server for seconds: run the
 * MongoDB files one at a time (`--no-file-parallelism`, see docs/eventstore.md).
 */
import { randomUUID } from 'node:crypto'
import type { MongoClient } from 'mongodb'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { selectMongoDriver } from '../../../test/support/mongodb-drivers.js'
import {
  cursorIds,
  describeWithUrl,
  directUrl,
  eventually,
  failCommand,
  replicaSetMembers,
  replicaSetTerm,
  waitForPrimary,
} from '../../../test/support/mongodb-server.js'
import { describeWithMongo, mongodbUrl } from '../../../test/support/services.js'
import type { Duration } from '../../core/duration.js'
import { isBulwarkError } from '../../core/errors.js'
import type { JsonValue, NewEvent } from '../types.js'
import { type MongoEventStore, mongoEventStore } from './mongodb.js'
import { loadMongoDriver, mongoDriverVersion } from './mongodb-driver.js'

const driver = selectMongoDriver()

describe(`the driver under test (MONGODB_DRIVER=${process.env.MONGODB_DRIVER ?? '7'})`, () => {
  it(`is ${driver.name}, and the store loads the same one`, () => {
    expect(mongoDriverVersion()).toBe(driver.version)
    expect(loadMongoDriver().MongoClient).toBe(driver.module.MongoClient)
  })
})

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function serverTests(url: () => string): void {
  const appName = `bulwark-srv-${randomUUID().slice(0, 8)}`
  let client: MongoClient
  let failPoints: ReturnType<typeof failCommand>
  const databases: string[] = []
  const stores: MongoEventStore[] = []
  const open = (options: { watchRetryDelay?: Duration } = {}) => {
    const database = `es_srv_${randomUUID().replace(/-/g, '').slice(0, 20)}`
    databases.push(database)
    const store = mongoEventStore({ client, database, ...options })
    stores.push(store)
    return { store, db: client.db(database) }
  }
  /** Another store on the same database, with a client of its own (fail points do not touch it). */
  const other = (database: string) => {
    const store = mongoEventStore({ url: url(), database })
    stores.push(store)
    return store
  }

  beforeAll(async () => {
    // The fail points below fail only commands of clients with this appName.
    client = driver.client(url(), { appName })
    await client.connect()
    failPoints = failCommand(client, appName)
  })
  afterEach(async () => {
    await failPoints.off().catch(() => {})
    for (const store of stores.splice(0)) await store.close()
  })
  afterAll(async () => {
    for (const name of databases) await client.db(name).dropDatabase()
    await client.close()
  })

  async function positions(store: MongoEventStore): Promise<number[]> {
    return (await store.readAll()).map((e) => e.globalPosition)
  }

  it('gives $ and dotted keys back exactly, and refuses what BSON would change, writing nothing', async () => {
    const { store } = open()
    const data = { $set: { 'a.b': 1 }, $ref: 'a lone $ref', text: '🐻\ufffd', list: [{ $id: 2 }] }
    await store.appendToStream('s', [{ type: 'A', data, metadata: { 'x.y': { $z: 1 } } }])
    const [read] = await store.readStream('s')
    expect(read?.data).toEqual(data)
    expect(read?.metadata).toMatchObject({ 'x.y': { $z: 1 } })
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
    await store.appendToStream('s', [{ type: 'A', data: 2 }])
    expect(await positions(store)).toEqual([1, 2]) // nothing refused took a position
  })

  it('concurrent appenders: a tight readAll loop and a change stream never see position p without p - 1', async () => {
    const { store, db } = open()
    await store.migrate()
    const reader = mongoEventStore({ client, database: db.databaseName })
    stores.push(reader)
    const inserted: number[] = []
    const changes = db.collection('eventstore_events').watch([{ $match: { operationType: 'insert' } }])
    changes.on('change', (change) => {
      if (change.operationType === 'insert') inserted.push(Number(change.documentKey._id))
    })
    await new Promise((resolve) => changes.once('resumeTokenChanged', resolve)) // listening
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
    try {
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < 50; i++) await store.appendToStream(`s-${(w + i) % 5}`, [{ type: 'A', data: { w, i } }])
        }),
      )
      done = true
      await probe
      expect(seen).toEqual(upTo(400))
      await eventually(() => inserted.length >= 400, '400 inserts on the change stream')
      expect(inserted).toEqual(upTo(400)) // in commit order, none before the one below it
    } finally {
      done = true
      await changes.close()
    }
  })

  it('a connection closed on commitTransaction: the append lands exactly once, no gap', async () => {
    const { store } = open()
    await store.appendToStream('s', [{ type: 'A', data: 0 }])
    await failPoints.set({ failCommands: ['commitTransaction'], closeConnection: true }, 1)
    await store.appendToStream('s', [{ type: 'A', data: 1 }])
    await store.appendToStream('s', [{ type: 'A', data: 2 }])
    expect((await store.readAll()).map((e) => [e.globalPosition, e.data])).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
    ])
  })

  it('WriteConflicts on insert are retried: exactly once, no gap', async () => {
    const { store } = open()
    await failPoints.set({ failCommands: ['insert'], errorCode: 112, errorLabels: ['TransientTransactionError'] }, 3)
    await store.appendToStream('s', [{ type: 'A', data: 1 }])
    await store.appendToStream('s', [{ type: 'A', data: 2 }])
    expect(await positions(store)).toEqual([1, 2])
  })

  // A commit that times out waiting for its write concern (code 50, MaxTimeMSExpired) ends
  // withTransaction with UnknownTransactionCommitResult (both drivers retry every other unknown commit
  // themselves). The failCommand's writeConcernError is added after the commit ran: it is committed.
  it('an unknown commit that did commit: the append returns its result (generated ids), exactly once', async () => {
    const { store } = open()
    await store.appendToStream('s', [{ type: 'A', data: 0 }])
    const wtimeout = { code: 50, codeName: 'MaxTimeMSExpired', errmsg: 'operation exceeded time limit' }
    await failPoints.set({ failCommands: ['commitTransaction'], writeConcernError: wtimeout }, 1)
    const result = await store.appendToStream('s', [
      { type: 'A', data: 1 },
      { type: 'B', data: 2 },
    ])
    expect(result).toEqual({ nextExpectedVersion: 3, firstPosition: 2, lastPosition: 3 })
    // Re-sent with the caller's ids, an unknown commit is idempotent too.
    const given: NewEvent[] = [{ id: randomUUID(), type: 'C', data: 3 }]
    await failPoints.set({ failCommands: ['commitTransaction'], writeConcernError: wtimeout }, 1)
    const first = await store.appendToStream('s', given)
    expect(await store.appendToStream('s', given)).toEqual(first)
    expect(await positions(store)).toEqual([1, 2, 3, 4])
    expect(await store.streamVersion('s')).toBe(4)
  })

  // The same code as an error of the command itself: the commit did not run. The store finds none of
  // the batch's ids and says the outcome is unknown; the caller re-sends the same events (ids generated
  // again) and they land once. The server may hold the abandoned transaction until the session is used
  // again or transactionLifetimeLimitSeconds (60 s) passes; the re-send's withTransaction retries meanwhile.
  it('an unknown commit that did not commit: E_STORE_UNAVAILABLE, nothing stored; a re-send lands once, no gap', async () => {
    const { store } = open()
    await store.appendToStream('s', [{ type: 'A', data: 0 }])
    await failPoints.set({ failCommands: ['commitTransaction'], errorCode: 50 }, 1)
    const events: NewEvent[] = [{ type: 'A', data: 1 }]
    const error = await store.appendToStream('s', events).catch((e) => e)
    expect(isBulwarkError(error, 'E_STORE_UNAVAILABLE')).toBe(true)
    expect(error.message).toMatch(/may or may not have been committed/)
    expect(await positions(store)).toEqual([1])
    expect(await store.appendToStream('s', events)).toEqual({
      nextExpectedVersion: 2,
      firstPosition: 2,
      lastPosition: 2,
    })
    expect((await store.readAll()).map((e) => [e.globalPosition, e.data])).toEqual([
      [1, 0],
      [2, 1],
    ])
  }, 180_000)

  it('replSetStepDown during appends: each append lands exactly once (a failed one re-sent), no gap', async () => {
    const { store } = open()
    await store.migrate()
    const termBefore = await replicaSetTerm(client)
    const sent: { event: NewEvent; outcome?: unknown }[] = []
    let steppedDown = false
    let sinceStepDown = 0
    const appender = async (w: number) => {
      for (let i = 0; !steppedDown || sinceStepDown < 20; i++) {
        const entry: { event: NewEvent; outcome?: unknown } = { event: { id: randomUUID(), type: 'A', data: { w, i } } }
        sent.push(entry)
        entry.outcome = await store.appendToStream('s', [entry.event]).then(
          () => 'ok',
          (e: unknown) => e,
        )
        if (steppedDown) sinceStepDown++
      }
    }
    const appending = Promise.all([0, 1, 2, 3].map(appender))
    await eventually(() => sent.length >= 20, '20 appends before the step-down')
    // force: a single-node set steps down too (and elects itself again after stepDownSecs). Servers
    // before 4.2 close the connection instead of answering.
    await client
      .db('admin')
      .command({ replSetStepDown: 5, secondaryCatchUpPeriodSecs: 1, force: true })
      .catch(() => undefined)
    steppedDown = true
    await appending
    await waitForPrimary(client)
    expect(await replicaSetTerm(client)).toBeGreaterThan(termBefore) // an election happened
    const failed = sent.filter((s) => s.outcome !== 'ok')
    for (const { outcome } of failed) expect(isBulwarkError(outcome, 'E_STORE_UNAVAILABLE'), String(outcome)).toBe(true)
    for (const { event } of failed) await store.appendToStream('s', [event])
    const events = await store.readAll()
    expect(events.map((e) => e.globalPosition)).toEqual(upTo(sent.length))
    expect(events.map((e) => e.streamVersion)).toEqual(upTo(sent.length))
    expect(events.map((e) => e.id).sort()).toEqual(sent.map((s) => s.event.id).sort())
  })

  // Both secondaries stop fetching the oplog (`stopReplProducer`), so nothing new becomes majority
  // committed: A's commit waits for its write concern while the primary already has A's write, and B,
  // expecting the version before A, is refused. Deciding why needs the stream's version at least as new
  // as what B's transaction saw; a majority read outside B's session would see the version before A,
  // pass the check and retry (100 times, then E_STORE_UNAVAILABLE). The store reads in B's causally
  // consistent session, which waits for the majority to catch up.
  it('replication lag, two conflicting appenders: WrongExpectedVersionError with the right actual version', async (ctx) => {
    const members = await replicaSetMembers(client)
    if (members.secondaries.length < 2) {
      const reason = `needs a replica set with two secondaries, this one (${members.setName}) has ${members.secondaries.length}: set MONGODB_URI_3`
      console.warn(`!!! SKIPPED replication lag test: ${reason}`)
      ctx.skip(reason)
    }
    const secondaries = members.secondaries.map((host) => driver.client(directUrl(url(), host)))
    const replication = (mode: 'alwaysOn' | 'off') =>
      Promise.all(secondaries.map((s) => s.db('admin').command({ configureFailPoint: 'stopReplProducer', mode })))
    const { store, db } = open()
    const storeB = other(db.databaseName)
    await store.appendToStream('s', [{ type: 'A', data: 0 }], { expectedVersion: 'no_stream' })
    await storeB.migrate()
    try {
      await replication('alwaysOn')
      const appendA = store.appendToStream('s', [{ type: 'A', data: 'a' }], { expectedVersion: 1 })
      const local = db.collection<{ _id: string; version: number }>('eventstore_streams', {
        readConcern: { level: 'local' },
      })
      await eventually(async () => (await local.findOne({ _id: 's' }))?.version === 2, "A's write on the primary")
      let settledB = false
      const appendB = storeB
        .appendToStream('s', [{ type: 'B', data: 'b' }], { expectedVersion: 1 })
        .then(
          (result) => result,
          (e: unknown) => e,
        )
        .finally(() => {
          settledB = true
        })
      await sleep(1_500) // lag, five times what the store once tolerated
      expect(settledB).toBe(false) // B waits for the majority to catch up instead of failing
      await replication('off')
      expect(await appendA).toEqual({ nextExpectedVersion: 2, firstPosition: 2, lastPosition: 2 })
      const errorB = await appendB
      expect(isBulwarkError(errorB, 'E_WRONG_EXPECTED_VERSION'), String(errorB)).toBe(true)
      expect(errorB).toMatchObject({ expectedVersion: 1, actualVersion: 2 })
      expect((await store.readAll()).map((e) => e.data)).toEqual([0, 'a'])
    } finally {
      await replication('off').catch(() => {})
      for (const s of secondaries) await s.close()
    }
  })

  it('a counter behind the events (a restore) fails at once with a clear error', async () => {
    const { store, db } = open()
    await store.appendToStream('s', [{ type: 'A', data: 1 }])
    await db.collection('eventstore_counters').updateOne({ _id: 'globalPosition' as never }, { $set: { last: 0 } })
    const error = await store.appendToStream('s', [{ type: 'A', data: 2 }]).catch((e) => e)
    expect(isBulwarkError(error, 'E_STORE_UNAVAILABLE')).toBe(true)
    expect(error.message).toMatch(/counter is behind the events/)
  })

  describe('the watch under failure: wake-ups resume, and one change stream cursor is left', () => {
    /** A watched store, a writer with a client of its own, and a way to see that a wake-up came. */
    async function watched() {
      const { store, db } = open({ watchRetryDelay: '100ms' })
      const writer = other(db.databaseName)
      await store.migrate()
      let wakes = 0
      store.watch(() => {
        wakes++
      })
      await eventually(() => wakes >= 1, 'the first wake-up (the change stream is open)')
      const namespace = `${db.databaseName}.eventstore_counters`
      return {
        db,
        namespace,
        wakes: () => wakes,
        /** An append in the other store wakes the watcher. */
        async wokenByOther(): Promise<void> {
          await eventually(async () => (await cursorIds(client, namespace)).length === 1, 'one open change stream')
          const before = wakes
          await writer.appendToStream('w', [{ type: 'W', data: before }])
          await eventually(() => wakes > before, 'a wake-up from the other store')
        },
        /** No second cursor shows up later (one left running by a resume would). */
        async oneCursorLeft(): Promise<void> {
          await sleep(3_000)
          expect(await cursorIds(client, namespace)).toHaveLength(1)
        },
      }
    }

    it('after its change stream is invalidated (counters collection renamed and back)', async () => {
      const { db, wakes, wokenByOther, oneCursorLeft } = await watched()
      const before = wakes()
      await db.collection('eventstore_counters').rename('eventstore_counters_moved')
      await db.collection('eventstore_counters_moved').rename('eventstore_counters')
      await eventually(() => wakes() > before, 'the wake-up of the re-opened stream')
      await wokenByOther()
      await oneCursorLeft()
    })

    it('after its cursor was killed (killCursors)', async () => {
      const { db, namespace, wokenByOther, oneCursorLeft } = await watched()
      const ids = await cursorIds(client, namespace)
      expect(ids).toHaveLength(1)
      await db.command({ killCursors: 'eventstore_counters', cursors: ids })
      await eventually(async () => {
        const now = await cursorIds(client, namespace)
        return now.length === 1 && String(now[0]) !== String(ids[0])
      }, 'a new cursor')
      await wokenByOther()
      await oneCursorLeft()
    })

    // The driver resumes by itself after a resumable error; the store's watch re-opens its own stream,
    // and the cursor the driver's resume starts meanwhile must not be left running.
    it('after a resumable getMore error', async () => {
      const { namespace, wokenByOther, oneCursorLeft } = await watched()
      const [id] = await cursorIds(client, namespace)
      await failPoints.set(
        { failCommands: ['getMore'], errorCode: 6, errorLabels: ['ResumableChangeStreamError'] }, // HostUnreachable
        1,
      )
      await eventually(async () => {
        const now = await cursorIds(client, namespace)
        return now.length > 0 && !now.some((c) => String(c) === String(id))
      }, 'the cursor replaced')
      await wokenByOther()
      await oneCursorLeft()
    })
  })
}

describeWithMongo('mongodb event store on a server (MONGODB_URI)', () => serverTests(mongodbUrl))
describeWithUrl('MONGODB_URI_3', 'mongodb event store on a three-node replica set (MONGODB_URI_3)', serverTests)

describe.each([
  ['MONGODB_URI_STANDALONE', /standalone mongod/],
  ['MONGODB_URI_UNINITIATED', /not initiated: run rs\.initiate\(\)/],
] as const)('a server without a replica set (%s)', (variable, message) => {
  const url = process.env[variable]
  if (!url) {
    console.warn(`!!! SKIPPED "a server without a replica set" (${variable} is not set)`)
    it.skip(`[SKIPPED: ${variable} not set] says why it cannot migrate or append, and watch gives up`, () => {})
    return
  }
  it('says why it cannot migrate or append, and watch gives up instead of retrying every 100 ms', async () => {
    const client = driver.client(url, { monitorCommands: true, serverSelectionTimeoutMS: 5_000 })
    const commands: string[] = []
    client.on('commandStarted', (event) => commands.push(event.commandName))
    const store = mongoEventStore({ client, database: `es_srv_${randomUUID().slice(0, 8)}`, watchRetryDelay: '100ms' })
    try {
      for (const attempt of [() => store.migrate(), () => store.appendToStream('s', [{ type: 'A', data: 1 }])]) {
        const error = await attempt().catch((e) => e)
        expect(isBulwarkError(error, 'E_REPLICA_SET_REQUIRED'), String(error)).toBe(true)
        expect(error.message).toMatch(message)
      }
      let wakes = 0
      store.watch(() => {
        wakes++
      })
      await eventually(() => commands.filter((c) => c === 'hello').length === 3, "the watch's server check")
      await sleep(1_500)
      expect(commands.filter((c) => c === 'hello')).toHaveLength(3) // migrate, append, watch: no retries
      expect(commands).not.toContain('aggregate') // no change stream was tried
      expect(commands).not.toContain('insert') // nothing was written
      expect(wakes).toBe(0)
    } finally {
      await store.close()
      await client.close()
    }
  })
})
