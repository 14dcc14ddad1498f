/**
 * The MongoDB event store (`bulwark/eventstore/mongodb`). Needs the official `mongodb` driver (an
 * optional peer dependency) and a replica set or sharded cluster: appends are multi-document
 * transactions, which a standalone server does not have. How an append keeps global positions
 * gap-free and in commit order is explained in `mongodb-append.ts`.
 */
import type { Collection, Db, MongoClient, ReadConcern } from 'mongodb'
import type { Duration } from '../../core/duration.js'
import { ValidationError } from '../../core/errors.js'
import { expectOptions, optionalDuration, optionKeys } from '../../core/validate.js'
import {
  EventStoreShell,
  type PreparedAppend,
  type PreparedSnapshot,
  type ShellContext,
  type StoreBackend,
  type ValidReadAllOptions,
  type ValidReadStreamOptions,
} from '../internal/index.js'
import type { AppendResult, EventStoreOptions, RecordedEvent, Snapshot } from '../types.js'
import { MongoAppends } from './mongodb-append.js'
import {
  type CheckpointDocument,
  COUNTER_ID,
  type CounterDocument,
  checkDocumentSize,
  documentToEvent,
  documentToSnapshot,
  type EventDocument,
  largestEventDocuments,
  readAllFilter,
  type SnapshotDocument,
  type StreamDocument,
  snapshotDocument,
} from './mongodb-documents.js'
import { loadMongoDriver, mongoDriverVersion } from './mongodb-driver.js'
import { checkHello, DUPLICATE_KEY, describeMongoError, serverCode } from './mongodb-errors.js'
import { transactionBackoff } from './mongodb-transaction.js'
import { MongoWatch } from './mongodb-watch.js'

export { MongoReplicaSetRequiredError } from './mongodb-errors.js'

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

// The driver's ReadConcern.fromOptions takes a plain `{ level }`: no driver class needed at construction.
const MAJORITY = { level: 'majority' } as ReadConcern
const NAMESPACE_EXISTS = 48

/**
 * The class behind {@link mongoEventStore}. `watch` calls its listeners after events commit: at once for
 * this store's appends, through a change stream for any process's. `close()` closes the change stream,
 * and the client if the store created it; a client passed in is left open.
 */
export class MongoEventStore extends EventStoreShell {
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
    super('mongodb', given, (context) => new MongoBackend(given ?? {}, context))
  }

  /**
   * Checks that the server runs transactions, then creates the collections, indexes and the counter
   * document if they do not exist. Runs by itself before the first operation; a store migrates at
   * most once (a failed attempt is retried by the next call).
   * @throws MongoReplicaSetRequiredError on a standalone server
   */
  migrate(): Promise<void> {
    return this.migrateOnce()
  }
}

/** One document per event, a stream document per stream, one counter document; appends in transactions. */
class MongoBackend implements StoreBackend {
  readonly describeError = describeMongoError
  readonly watchers: MongoWatch
  readonly #client: MongoClient
  readonly #ownsClient: boolean
  readonly #db: Db
  readonly #events: Collection<EventDocument>
  readonly #streams: Collection<StreamDocument>
  readonly #counters: Collection<CounterDocument>
  readonly #snapshots: Collection<SnapshotDocument>
  readonly #checkpoints: Collection<CheckpointDocument>
  readonly #appends: MongoAppends

  constructor(options: MongoEventStoreOptions, context: ShellContext) {
    const { client, url, database, collectionPrefix = 'eventstore_' } = options
    if (client !== undefined && typeof client?.db !== 'function')
      throw new ValidationError('client', 'a MongoClient', client)
    if (client === undefined && (typeof url !== 'string' || url === ''))
      throw new ValidationError('url', 'a MongoDB connection string (or pass `client`)', url)
    if (database !== undefined && (typeof database !== 'string' || !/^[^/\\. "$]{1,63}$/.test(database)))
      throw new ValidationError('database', 'a MongoDB database name', database)
    if (typeof collectionPrefix !== 'string' || !/^[A-Za-z0-9_.-]{0,64}$/.test(collectionPrefix))
      throw new ValidationError('collectionPrefix', 'letters, digits, _, . or - (at most 64)', collectionPrefix)
    const retryDelayMs = optionalDuration('watchRetryDelay', options.watchRetryDelay, 1_000)

    this.#ownsClient = client === undefined
    this.#client = client ?? createClient(url as string)
    // Majority reads and writes: a reader never sees an event that a failover could roll back (a
    // subscription that had handled it would skip the different event that later took its position),
    // and an append is acknowledged only once it survives a failover.
    this.#db = this.#client.db(database, { readConcern: MAJORITY, writeConcern: { w: 'majority' } })
    this.#events = this.#db.collection<EventDocument>(`${collectionPrefix}events`)
    this.#streams = this.#db.collection<StreamDocument>(`${collectionPrefix}streams`)
    this.#counters = this.#db.collection<CounterDocument>(`${collectionPrefix}counters`)
    this.#snapshots = this.#db.collection<SnapshotDocument>(`${collectionPrefix}snapshots`)
    this.#checkpoints = this.#db.collection<CheckpointDocument>(`${collectionPrefix}checkpoints`)
    this.#appends = new MongoAppends({
      client: this.#client,
      events: this.#events,
      streams: this.#streams,
      counters: this.#counters,
      backoff: transactionBackoff(mongoDriverVersion()),
    })
    this.watchers = new MongoWatch({
      counters: this.#counters,
      clock: context.clock,
      retryDelayMs,
      // A standalone server has no change streams: the watch checks the server before opening one.
      ready: () => context.migrate(),
    })
  }

  async migrate(): Promise<void> {
    checkHello(await this.#db.admin().command({ hello: 1 }))
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
  }

  /** Refuses, before any transaction, an event the server would refuse for its size. */
  checkAppend(append: PreparedAppend): void {
    const size = bsonSize()
    largestEventDocuments(append.streamId, append.events, append.recordedAt).forEach((doc, i) => {
      checkDocumentSize(doc, `events[${i}]`, 'E_INVALID_EVENT', size)
    })
  }

  /** Refuses, before it is sent, a snapshot the server would refuse for its size. */
  checkSnapshot({ snapshot }: PreparedSnapshot): void {
    checkDocumentSize(snapshotDocument(snapshot), 'snapshot', 'E_INVALID_ARGUMENT', bsonSize())
  }

  append(append: PreparedAppend): Promise<AppendResult> {
    return this.#appends.append(append)
  }

  async readStream(
    streamId: string,
    { direction, fromVersion, maxCount }: ValidReadStreamOptions,
  ): Promise<RecordedEvent[]> {
    const forwards = direction === 'forwards'
    const filter =
      fromVersion === undefined
        ? { streamId }
        : { streamId, streamVersion: forwards ? { $gte: fromVersion } : { $lte: fromVersion } }
    const docs = await limited(this.#events.find(filter).sort({ streamVersion: forwards ? 1 : -1 }), maxCount).toArray()
    return docs.map(documentToEvent)
  }

  async readAll(options: ValidReadAllOptions): Promise<RecordedEvent[]> {
    const docs = await limited(this.#events.find(readAllFilter(options)).sort({ _id: 1 }), options.maxCount).toArray()
    return docs.map(documentToEvent)
  }

  async streamVersion(streamId: string): Promise<number> {
    const doc = await this.#streams.findOne({ _id: streamId })
    return doc ? Number(doc.version) : 0
  }

  async headPosition(): Promise<number> {
    const doc = await this.#counters.findOne({ _id: COUNTER_ID })
    return doc ? Number(doc.last) : 0
  }

  async saveSnapshot({ snapshot }: PreparedSnapshot): Promise<void> {
    await this.#snapshots.replaceOne({ _id: snapshot.streamId }, snapshotDocument(snapshot), { upsert: true })
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    const doc = await this.#snapshots.findOne({ _id: streamId })
    return doc ? documentToSnapshot(doc) : undefined
  }

  async loadCheckpoint(subscriptionId: string): Promise<number | undefined> {
    const doc = await this.#checkpoints.findOne({ _id: subscriptionId })
    return doc ? Number(doc.position) : undefined
  }

  async storeCheckpoint(subscriptionId: string, position: number): Promise<void> {
    await this.#checkpoints.updateOne({ _id: subscriptionId }, { $set: { position } }, { upsert: true })
  }

  /** Closes the change stream, and the client if the store created it; a client passed in is left open. */
  async close(): Promise<void> {
    await this.watchers.stop()
    if (this.#ownsClient) await this.#client.close()
  }
}

/** How the server measures a document: the driver's BSON size (the driver is loaded on first use). */
function bsonSize(): (doc: object) => number {
  const { BSON } = loadMongoDriver()
  return (doc) => BSON.calculateObjectSize(doc as Record<string, unknown>)
}

/** `maxCount` as a cursor limit; "no limit" sets none, since the server wants a 64-bit integer. */
function limited<C extends { limit(n: number): C }>(cursor: C, maxCount: number): C {
  return maxCount < Number.MAX_SAFE_INTEGER ? cursor.limit(maxCount) : cursor
}

function createClient(url: string): MongoClient {
  const { MongoClient } = loadMongoDriver()
  try {
    return new MongoClient(url)
  } catch {
    throw new ValidationError('url', 'a valid MongoDB connection string', url)
  }
}

function ignoreCode(code: number): (e: unknown) => undefined {
  return (e) => {
    if (serverCode(e) === code) return undefined
    throw e
  }
}
