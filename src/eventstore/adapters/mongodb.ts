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
import type { ClientSession, Collection, Db, MongoClient, ReadConcern } from 'mongodb'
import { type Duration, parseDuration } from '../../core/duration.js'
import { BulwarkError, ValidationError } from '../../core/errors.js'
import { expectOptions, optionKeys } from '../../core/validate.js'
import {
  EventStoreShell,
  type PreparedAppend,
  type PreparedSnapshot,
  type ShellContext,
  type StoreBackend,
  type StoredEventLocation,
  type ValidReadAllOptions,
  type ValidReadStreamOptions,
} from '../internal/index.js'
import { retryingAppend } from '../internal/retrying-append.js'
import type { AppendResult, EventStoreOptions, RecordedEvent, Snapshot } from '../types.js'
import {
  type CheckpointDocument,
  type CounterDocument,
  checkDocumentSize,
  documentToEvent,
  documentToSnapshot,
  type EventDocument,
  eventDocuments,
  largestEventDocuments,
  readAllFilter,
  type SnapshotDocument,
  type StreamDocument,
  snapshotDocument,
} from './mongodb-documents.js'
import { loadMongoDriver, mongoDriverVersion } from './mongodb-driver.js'
import { checkHello, describeMongoError, hasErrorLabel, serverCode } from './mongodb-errors.js'
import { committedResult, transactionBackoff } from './mongodb-transaction.js'
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

const COUNTER_ID = 'globalPosition'
// The driver's ReadConcern.fromOptions takes a plain `{ level }`: no driver class needed at construction.
const MAJORITY = { level: 'majority' } as ReadConcern
const DUPLICATE_KEY = 11000
const NAMESPACE_EXISTS = 48

/** Thrown inside the append transaction to abort it when the stream's version does not match. */
class StreamClaimFailed extends Error {}

/** The class behind {@link mongoEventStore}. */
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
  readonly #backoff = transactionBackoff(mongoDriverVersion())

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
    const retryDelayMs = parseDuration(options.watchRetryDelay ?? 1_000, 'watchRetryDelay')

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

  async append(append: PreparedAppend): Promise<AppendResult> {
    // One causally consistent session for the whole append: after a refused transaction, the reads that
    // decide between conflict, idempotent repeat and retry see at least what the transaction saw, even
    // on a lagging majority snapshot, instead of an older version that would pass the check again.
    // (Throws when the client was closed by its owner.)
    const session = this.#client.startSession({ causalConsistency: true })
    try {
      return await retryingAppend(append, {
        tryAppend: () => this.#tryAppend(append, session),
        findStored: (ids) => this.#findStored(ids, session),
        streamVersion: () => this.#streamVersion(append.streamId, session),
      })
    } finally {
      await session.endSession().catch(() => {})
    }
  }

  /** One transaction: claim the stream, take positions, insert. `undefined` when it was refused. */
  async #tryAppend(append: PreparedAppend, session: ClientSession): Promise<AppendResult | undefined> {
    let attempt = 0
    try {
      return await session.withTransaction(
        async (s) => {
          // A retried attempt (after a WriteConflict) waits first, unless the driver does; nothing of the
          // transaction has reached the server yet, so the wait holds nothing there.
          attempt++
          if (attempt > 1 && this.#backoff) await this.#backoff(attempt - 1)
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
          await this.#events.insertMany(docs, { session: s, ordered: true }).catch((e: unknown) => {
            throw isPositionTaken(e) ? counterBehind(last - n + 1) : e
          })
          return { nextExpectedVersion: version, firstPosition: last - n + 1, lastPosition: last }
        },
        { readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' }, readPreference: 'primary' },
      )
    } catch (e) {
      // The transaction was aborted: nothing of it is stored, the counter included.
      if (e instanceof StreamClaimFailed || serverCode(e) === DUPLICATE_KEY) return undefined
      // The commit may have happened: look for the batch (generated ids included) before failing, so
      // the caller does not re-send, and duplicate, an append that is in fact stored.
      if (hasErrorLabel(e, 'UnknownTransactionCommitResult')) {
        const stored = await this.#findStored(
          append.events.map((event) => event.id),
          session,
        ).catch(() => new Map<string, StoredEventLocation>())
        const result = committedResult(append, stored)
        if (result) return result
      }
      throw e
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

  async #findStored(ids: string[], session: ClientSession): Promise<Map<string, StoredEventLocation>> {
    const docs = await this.#events
      .find({ eventId: { $in: ids } }, { session, projection: { _id: 1, streamId: 1, streamVersion: 1, eventId: 1 } })
      .toArray()
    return new Map(
      docs.map((doc) => [
        doc.eventId,
        { streamId: doc.streamId, streamVersion: Number(doc.streamVersion), globalPosition: Number(doc._id) },
      ]),
    )
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

  streamVersion(streamId: string): Promise<number> {
    return this.#streamVersion(streamId, undefined)
  }

  /** In the append's session, the stream's version reads at least what its transaction saw (see append). */
  async #streamVersion(streamId: string, session: ClientSession | undefined): Promise<number> {
    const doc = await this.#streams.findOne({ _id: streamId }, session ? { session } : undefined)
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

/** A duplicate `_id` in the events collection: the position the counter handed out is taken. */
function isPositionTaken(error: unknown): boolean {
  return serverCode(error) === DUPLICATE_KEY && /index: _id_ /.test(String((error as Error)?.message))
}

/**
 * The counter is behind the highest stored position (a restore of the events without the counter, a
 * counter edited by hand): every append would take a used position and be retried for nothing.
 */
function counterBehind(position: number): BulwarkError {
  return new BulwarkError(
    'E_STORE_UNAVAILABLE',
    `The position counter of the MongoDB event store handed out position ${position}, which an event already has: the counter is behind the events (restored without it?). Set the counter document's \`last\` to the highest event \`_id\`.`,
    { context: { position } },
  )
}
