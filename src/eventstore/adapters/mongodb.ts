/**
 * The MongoDB event store (`bulwark/eventstore/mongodb`). Needs the official `mongodb` driver (an
 * optional peer dependency) and a replica set or sharded cluster: appends are multi-document
 * transactions, which a standalone server does not have.
 *
 * How global positions stay gap-free and in commit order: every append, in one transaction, claims
 * its stream document (the optimistic concurrency check), increments the single counter document
 * with `$inc`, and inserts one document per event with the positions it got. A transaction that
 * writes a document another open transaction has written fails at once with a WriteConflict (a
 * TransientTransactionError) and `withTransaction` runs it again, with a new snapshot; it cannot
 * take positions until the transaction holding the counter has committed or aborted. So the counter
 * hands out positions one committed transaction after another: positions follow commit order, a
 * reader that sees position p sees every position before it, and an aborted append gives its
 * positions back untouched, leaving no gap.
 */

import { type ClientSession, type Collection, type Db, MongoClient, ReadConcern } from 'mongodb'
import type { Clock } from '../../core/clock.js'
import { type Duration, parseDuration } from '../../core/duration.js'
import { BulwarkError, ValidationError } from '../../core/errors.js'
import { expectOptions, optionKeys } from '../../core/validate.js'
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
  validateReadAllOptions,
  validateReadStreamOptions,
} from '../internal/index.js'
import { retryingAppend } from '../internal/retrying-append.js'
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
import {
  type CheckpointDocument,
  type CounterDocument,
  documentToEvent,
  documentToSnapshot,
  type EventDocument,
  eventDocuments,
  readAllFilter,
  type SnapshotDocument,
  type StreamDocument,
  snapshotDocument,
} from './mongodb-documents.js'
import { MongoWatch } from './mongodb-watch.js'

/** Options of {@link mongoEventStore}. Give `client` or `url`. */
export interface MongoEventStoreOptions extends EventStoreOptions {
  /** A connected or unconnected client the store uses and leaves open on `close()`. */
  client?: MongoClient
  /** A connection string: the store creates its own client and closes it on `close()`. */
  url?: string
  /** Database holding the collections. @default the database of the connection string (the driver's 'test' when it names none) */
  database?: string
  /**
   * Prefix of the collection names (`events`, `streams`, `counters`, `snapshots`, `checkpoints`).
   * @default 'eventstore_'
   */
  collectionPrefix?: string
  /** Wait before re-opening the change stream of `watch` after it fails. @default '1s' */
  watchRetryDelay?: Duration
}

/**
 * Thrown on first use when the server is a standalone `mongod`: appends need multi-document
 * transactions, which only replica sets and sharded clusters have. A single-node replica set
 * (`mongod --replSet rs0`, then `rs.initiate()`) is enough for development.
 */
export class MongoReplicaSetRequiredError extends BulwarkError {
  constructor() {
    super(
      'E_REPLICA_SET_REQUIRED',
      'The MongoDB event store needs a replica set or a sharded cluster (it appends in multi-document transactions), but the server is a standalone mongod. For development, start mongod with --replSet rs0 and run rs.initiate().',
    )
  }
}

/**
 * Creates a MongoDB event store.
 *
 * @example
 * ```ts
 * import { mongoEventStore } from 'bulwark/eventstore/mongodb'
 *
 * const store = mongoEventStore({ url: 'mongodb://localhost:27017/shop?replicaSet=rs0' })
 * await store.appendToStream('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' })
 * const history = await store.readStream('order-1')
 * await store.close()
 * ```
 */
export function mongoEventStore(options: MongoEventStoreOptions): MongoEventStore {
  return new MongoEventStore(options)
}

const COUNTER_ID = 'globalPosition'
const DUPLICATE_KEY = 11000
const NAMESPACE_EXISTS = 48

/** Thrown inside the append transaction to abort it when the stream's version does not match. */
class StreamClaimFailed extends Error {}

/** The class behind {@link mongoEventStore}. */
export class MongoEventStore implements EventStore {
  readonly #client: MongoClient
  readonly #ownsClient: boolean
  readonly #db: Db
  readonly #events: Collection<EventDocument>
  readonly #streams: Collection<StreamDocument>
  readonly #counters: Collection<CounterDocument>
  readonly #snapshots: Collection<SnapshotDocument>
  readonly #checkpoints: Collection<CheckpointDocument>
  readonly #clock: Clock
  readonly #upcast: UpcastFn
  readonly #watch: MongoWatch
  #ready: Promise<void> | undefined
  #closed = false

  constructor(given: MongoEventStoreOptions) {
    expectOptions(
      'options',
      given,
      optionKeys<MongoEventStoreOptions>({
        client: true,
        url: true,
        database: true,
        collectionPrefix: true,
        watchRetryDelay: true,
        clock: true,
        upcasters: true,
      }),
    )
    const { clock, upcast } = resolveStoreOptions(given)
    const options: MongoEventStoreOptions = given ?? {}
    const { client, url, database, collectionPrefix = 'eventstore_' } = options
    if (client !== undefined && typeof client?.db !== 'function')
      throw new ValidationError('client', 'a MongoClient', client)
    if (client === undefined && (typeof url !== 'string' || url === ''))
      throw new ValidationError('url', 'a MongoDB connection string (or pass `client`)', url)
    if (database !== undefined && (typeof database !== 'string' || !/^[^/\\. "$]{1,63}$/.test(database)))
      throw new ValidationError('database', 'a MongoDB database name', database)
    if (typeof collectionPrefix !== 'string' || !/^[A-Za-z0-9_.-]{0,64}$/.test(collectionPrefix))
      throw new ValidationError('collectionPrefix', 'letters, digits, _, . or - (at most 64)', collectionPrefix)
    this.#clock = clock
    this.#upcast = upcast
    const retryDelayMs = parseDuration(options.watchRetryDelay ?? 1_000, 'watchRetryDelay')

    this.#ownsClient = client === undefined
    this.#client = client ?? createClient(url as string)
    // Majority reads and writes: a reader never sees an event that a failover could roll back (a
    // subscription that had handled it would skip the different event that later took its position),
    // and an append is acknowledged only once it survives a failover.
    this.#db = this.#client.db(database, { readConcern: new ReadConcern('majority'), writeConcern: { w: 'majority' } })
    this.#events = this.#db.collection<EventDocument>(`${collectionPrefix}events`)
    this.#streams = this.#db.collection<StreamDocument>(`${collectionPrefix}streams`)
    this.#counters = this.#db.collection<CounterDocument>(`${collectionPrefix}counters`)
    this.#snapshots = this.#db.collection<SnapshotDocument>(`${collectionPrefix}snapshots`)
    this.#checkpoints = this.#db.collection<CheckpointDocument>(`${collectionPrefix}checkpoints`)
    this.#watch = new MongoWatch(this.#counters, this.#clock, retryDelayMs)
  }

  /**
   * Checks that the server runs transactions, then creates the collections, indexes and the counter
   * document if they do not exist. Runs by itself before the first operation; a store migrates at
   * most once (a failed attempt is retried by the next call).
   * @throws MongoReplicaSetRequiredError on a standalone server
   */
  migrate(): Promise<void> {
    this.#assertOpen()
    this.#ready ??= this.#runMigration().catch((e: unknown) => {
      this.#ready = undefined
      throw e
    })
    return this.#ready
  }

  async #runMigration(): Promise<void> {
    try {
      const hello = await this.#db.admin().command({ hello: 1 })
      // A replica set member names its set; mongos says 'isdbgrid'. Both run transactions.
      if (typeof hello.setName !== 'string' && hello.msg !== 'isdbgrid') throw new MongoReplicaSetRequiredError()
      // Collections cannot always be created implicitly inside a transaction: create them first.
      for (const collection of [this.#events, this.#streams, this.#counters, this.#snapshots, this.#checkpoints]) {
        await this.#db.createCollection(collection.collectionName).catch(ignoreCode(NAMESPACE_EXISTS))
      }
      await this.#events.createIndexes([
        { key: { streamId: 1, streamVersion: 1 }, name: 'stream_version', unique: true },
        { key: { eventId: 1 }, name: 'event_id', unique: true },
        { key: { type: 1, _id: 1 }, name: 'type_position' },
        { key: { recordedAt: 1, _id: 1 }, name: 'recorded_at_position' },
      ])
      // Created once, outside any transaction: two transactions upserting it at once could fail with
      // a duplicate key that would look like a stream conflict.
      await this.#counters
        .updateOne({ _id: COUNTER_ID }, { $setOnInsert: { last: 0 } }, { upsert: true })
        .catch(ignoreCode(DUPLICATE_KEY))
    } catch (e) {
      throw toStoreError(e)
    }
  }

  async appendToStream(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    this.#assertOpen()
    const append = prepareAppend(streamId, events, options, this.#clock)
    await this.migrate()
    const result = await retryingAppend(append, {
      tryAppend: () => this.#tryAppend(append),
      findStored: (ids) => this.#findStored(ids),
      streamVersion: () => this.streamVersion(append.streamId),
    })
    this.#watch.notifyLocal()
    return result
  }

  /** One transaction: claim the stream, take positions, insert. `undefined` when it was refused. */
  async #tryAppend(append: PreparedAppend): Promise<AppendResult | undefined> {
    const session = this.#client.startSession()
    try {
      return await session.withTransaction(
        async (s) => {
          const version = await this.#claimStream(append, s)
          const n = append.events.length
          const counter = await this.#counters.findOneAndUpdate(
            { _id: COUNTER_ID },
            { $inc: { last: n } },
            { session: s, returnDocument: 'after' },
          )
          if (!counter) throw new BulwarkError('E_STORE_UNAVAILABLE', 'The position counter document is missing')
          const last = Number(counter.last)
          const docs = eventDocuments(append.streamId, append.events, version - n + 1, last - n + 1, append.recordedAt)
          await this.#events.insertMany(docs, { session: s, ordered: true })
          return { nextExpectedVersion: version, firstPosition: last - n + 1, lastPosition: last }
        },
        { readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' }, readPreference: 'primary' },
      )
    } catch (e) {
      // The transaction was aborted: nothing of it is stored, the counter included.
      if (e instanceof StreamClaimFailed || serverCode(e) === DUPLICATE_KEY) return undefined
      throw toStoreError(e)
    } finally {
      await session.endSession()
    }
  }

  /** The optimistic concurrency check: writes the stream's new version, or throws StreamClaimFailed. */
  async #claimStream(append: PreparedAppend, session: ClientSession): Promise<number> {
    const n = append.events.length
    const expected = append.expectedVersion
    const returnNew = { session, returnDocument: 'after' } as const
    if (expected === 'no_stream' || expected === 0) {
      // A stream that exists makes this fail with a duplicate key, which aborts the transaction.
      await this.#streams.insertOne({ _id: append.streamId, version: n }, { session })
      return n
    }
    const claimed =
      expected === 'any'
        ? await this.#streams.findOneAndUpdate(
            { _id: append.streamId },
            { $inc: { version: n } },
            {
              ...returnNew,
              upsert: true,
            },
          )
        : await this.#streams.findOneAndUpdate(
            expected === 'stream_exists' ? { _id: append.streamId } : { _id: append.streamId, version: expected },
            { $inc: { version: n } },
            returnNew,
          )
    if (!claimed) throw new StreamClaimFailed()
    return Number(claimed.version)
  }

  async #findStored(ids: string[]): Promise<Map<string, StoredEventLocation>> {
    const docs = await this.#run(() =>
      this.#events
        .find({ eventId: { $in: ids } }, { projection: { _id: 1, streamId: 1, streamVersion: 1, eventId: 1 } })
        .toArray(),
    )
    return new Map(
      docs.map((doc) => [
        doc.eventId,
        { streamId: doc.streamId, streamVersion: Number(doc.streamVersion), globalPosition: Number(doc._id) },
      ]),
    )
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    this.#assertOpen()
    validateId(streamId)
    const { direction, fromVersion, maxCount } = validateReadStreamOptions(options)
    if (maxCount === 0) return []
    await this.migrate()
    const forwards = direction === 'forwards'
    const filter =
      fromVersion === undefined
        ? { streamId }
        : { streamId, streamVersion: forwards ? { $gte: fromVersion } : { $lte: fromVersion } }
    const docs = await this.#run(() =>
      limited(this.#events.find(filter).sort({ streamVersion: forwards ? 1 : -1 }), maxCount).toArray(),
    )
    return docs.map((doc) => this.#upcast(documentToEvent(doc)))
  }

  iterateStream(streamId: string, options?: ReadStreamOptions & { pageSize?: number }): AsyncIterable<RecordedEvent> {
    return iterateStreamPages((id, o) => this.readStream(id, o), streamId, options)
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    this.#assertOpen()
    const valid = validateReadAllOptions(options)
    if (valid.maxCount === 0 || valid.types?.length === 0) return []
    await this.migrate()
    const docs = await this.#run(() =>
      limited(this.#events.find(readAllFilter(valid)).sort({ _id: 1 }), valid.maxCount).toArray(),
    )
    return docs.map((doc) => this.#upcast(documentToEvent(doc)))
  }

  iterateAll(options?: ReadAllOptions & { pageSize?: number }): AsyncIterable<RecordedEvent> {
    return iterateAllPages((o) => this.readAll(o), options)
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#assertOpen()
    validateId(streamId)
    await this.migrate()
    const doc = await this.#run(() => this.#streams.findOne({ _id: streamId }))
    return doc ? Number(doc.version) : 0
  }

  async headPosition(): Promise<number> {
    this.#assertOpen()
    await this.migrate()
    const doc = await this.#run(() => this.#counters.findOne({ _id: COUNTER_ID }))
    return doc ? Number(doc.last) : 0
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.#assertOpen()
    const { snapshot: s } = prepareSnapshot(snapshot)
    await this.migrate()
    await this.#run(() => this.#snapshots.replaceOne({ _id: s.streamId }, snapshotDocument(s), { upsert: true }))
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    this.#assertOpen()
    validateId(streamId)
    await this.migrate()
    const doc = await this.#run(() => this.#snapshots.findOne({ _id: streamId }))
    return doc ? documentToSnapshot(doc) : undefined
  }

  async loadCheckpoint(subscriptionId: string): Promise<number | undefined> {
    this.#assertOpen()
    validateId(subscriptionId, 'subscriptionId')
    await this.migrate()
    const doc = await this.#run(() => this.#checkpoints.findOne({ _id: subscriptionId }))
    return doc ? Number(doc.position) : undefined
  }

  async storeCheckpoint(subscriptionId: string, position: number): Promise<void> {
    this.#assertOpen()
    validateCheckpoint(subscriptionId, position)
    await this.migrate()
    await this.#run(() =>
      this.#checkpoints.updateOne({ _id: subscriptionId }, { $set: { position } }, { upsert: true }),
    )
  }

  /** Calls `listener` after events commit: from this store at once, from any process through a change stream. */
  watch(listener: () => void): () => void {
    this.#assertOpen()
    if (typeof listener !== 'function')
      throw new ValidationError('listener', 'a function', listener, 'E_INVALID_ARGUMENT')
    return this.#watch.add(listener)
  }

  /** Closes the change stream, and the client if the store created it; a client passed in is left open. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#watch.stop()
    if (this.#ownsClient) await this.#client.close()
  }

  async #run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation()
    } catch (e) {
      throw toStoreError(e)
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError('mongodb')
  }
}

/** `maxCount` as a cursor limit; "no limit" sets none, since the server wants a 64-bit integer. */
function limited<C extends { limit(n: number): C }>(cursor: C, maxCount: number): C {
  return maxCount < Number.MAX_SAFE_INTEGER ? cursor.limit(maxCount) : cursor
}

function createClient(url: string): MongoClient {
  try {
    return new MongoClient(url)
  } catch {
    throw new ValidationError('url', 'a valid MongoDB connection string', url)
  }
}

/**
 * The server error code of a driver error. Read from its shape rather than with `instanceof`, so errors
 * of a client from another installed copy of the driver are recognised too.
 */
function serverCode(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code
}

function ignoreCode(code: number): (e: unknown) => undefined {
  return (e) => {
    if (serverCode(e) === code) return undefined
    throw e
  }
}

const UNAVAILABLE = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
])

/** Bulwark errors pass through; an unreachable server becomes `E_STORE_UNAVAILABLE`. */
function toStoreError(error: unknown): unknown {
  if ((error as { isBulwarkError?: unknown } | null)?.isBulwarkError === true) return error
  const name = (error as Error | null)?.name
  if (typeof name === 'string' && UNAVAILABLE.has(name))
    return new BulwarkError('E_STORE_UNAVAILABLE', `MongoDB is unavailable: ${(error as Error).message}`, {
      cause: error,
    })
  return error
}
