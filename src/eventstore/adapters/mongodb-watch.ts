/**
 * The MongoDB store's `watch`: one change stream on the counter collection, open while at least one
 * watcher exists (a {@link ReconnectingWatch}). Every append updates the counter document once, inside
 * its transaction, so each committed append yields exactly one change event, from any process, and
 * none for a rolled-back one.
 *
 * The change stream can end with an error (a failover the driver could not resume, missing privileges)
 * or without one (an invalidate after the collection or database was dropped or renamed, an
 * interrupted operation, a closed server). Either way it is re-opened after `retryDelayMs` on the
 * injected clock, and every watcher is woken once it is back, to read what it may have missed.
 * Subscriptions poll at a slow rate anyway, so nothing is lost meanwhile; only the wake-up is late.
 *
 * Before the first open the store's migration runs (it checks the server): a standalone server has no
 * change streams, so the watch then gives up for good instead of failing every second, and only this
 * process's own appends wake its watchers.
 */
import type { ChangeStream, Collection } from 'mongodb'
import type { Clock } from '../../core/clock.js'
import { isBulwarkError } from '../../core/errors.js'
import { ReconnectingWatch, type WatchConnection, type WatchLink } from '../internal/reconnecting-watch.js'
import type { CounterDocument } from './mongodb-documents.js'
import { serverCode } from './mongodb-errors.js'

// "The $changeStream stage is only supported on replica sets".
const CHANGE_STREAMS_UNSUPPORTED = 40573

export interface MongoWatchOptions {
  counters: Pick<Collection<CounterDocument>, 'watch'>
  clock: Clock
  retryDelayMs: number
  /** Resolves when the server is checked and migrated; rejects with E_REPLICA_SET_REQUIRED on a standalone. */
  ready: () => Promise<void>
}

export class MongoWatch extends ReconnectingWatch {
  constructor({ counters, clock, retryDelayMs, ready }: MongoWatchOptions) {
    super({
      connect: (link) => openChangeStream(counters, ready, link),
      clock,
      retryDelayMs,
      isUnsupported: (error) =>
        isBulwarkError(error, 'E_REPLICA_SET_REQUIRED') || serverCode(error) === CHANGE_STREAMS_UNSUPPORTED,
    })
  }
}

/** Checks the server (`ready`), then opens the change stream, reporting through `link`. */
function openChangeStream(
  counters: MongoWatchOptions['counters'],
  ready: () => Promise<void>,
  link: WatchLink,
): WatchConnection {
  let closed = false
  let stream: ChangeStream<CounterDocument> | undefined
  // Through a promise: a `ready` that throws at once still ends in `lost`.
  Promise.resolve()
    .then(() => ready())
    .then(() => {
      if (closed) return
      const opened = counters.watch([{ $match: { operationType: { $in: ['update', 'replace'] } } }])
      stream = opened
      opened.on('change', () => link.notify())
      // Appends that committed before the stream started sent no change we will see: wake everyone once
      // the stream is established. The ChangeStream does not pass on its cursor's 'init'; the first
      // resume token it reports comes from that initial response (an empty first batch sets it).
      opened.once('resumeTokenChanged', () => link.notify())
      // The driver resumes after a resumable error by closing its cursor, which reaches `lost` below as
      // 'close', and then starts a new cursor without checking that the stream was closed meanwhile: that
      // cursor would run on the server for good. A stream given up that still reports resume tokens is
      // closed again, after the cursor has finished starting (closed during its start, it is not killed).
      opened.on('resumeTokenChanged', () => {
        if (closed) setImmediate(() => opened.close().catch(() => {}))
      })
      opened.on('error', (error: unknown) => link.lost(error))
      opened.on('close', () => link.lost())
    })
    .catch((error: unknown) => link.lost(error))
  return {
    async close() {
      closed = true
      await stream?.close()
    },
  }
}
