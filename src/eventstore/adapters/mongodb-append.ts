/**
 * The MongoDB store's append: one multi-document transaction, tried first and looked at closer only
 * when it was refused (`retryingAppend`).
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
import type { ClientSession, Collection, MongoClient } from 'mongodb'
import { BulwarkError } from '../../core/errors.js'
import type { PreparedAppend, StoredEventLocation } from '../internal/index.js'
import { retryingAppend } from '../internal/retrying-append.js'
import type { AppendResult } from '../types.js'
import {
  COUNTER_ID,
  type CounterDocument,
  type EventDocument,
  eventDocuments,
  type StreamDocument,
} from './mongodb-documents.js'
import { DUPLICATE_KEY, hasErrorLabel, serverCode } from './mongodb-errors.js'
import { committedResult } from './mongodb-transaction.js'

/** What an append writes to. */
export interface AppendTarget {
  client: MongoClient
  events: Collection<EventDocument>
  streams: Collection<StreamDocument>
  counters: Collection<CounterDocument>
  /** The pause before a retried transaction attempt, when the driver does not pause itself. */
  backoff: ((attempt: number) => Promise<void>) | undefined
}

/** Thrown inside the append transaction to abort it when the stream's version does not match. */
class StreamClaimFailed extends Error {}

/** Appends of one store. */
export class MongoAppends {
  readonly #client: MongoClient
  readonly #events: Collection<EventDocument>
  readonly #streams: Collection<StreamDocument>
  readonly #counters: Collection<CounterDocument>
  readonly #backoff: AppendTarget['backoff']

  constructor({ client, events, streams, counters, backoff }: AppendTarget) {
    this.#client = client
    this.#events = events
    this.#streams = streams
    this.#counters = counters
    this.#backoff = backoff
  }

  /** Writes the batch, or returns the result of its earlier append, or throws a version or id conflict. */
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

  /** The stream's version, read in the append's session: at least what its transaction saw. */
  async #streamVersion(streamId: string, session: ClientSession): Promise<number> {
    const doc = await this.#streams.findOne({ _id: streamId }, { session })
    return doc ? Number(doc.version) : 0
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
