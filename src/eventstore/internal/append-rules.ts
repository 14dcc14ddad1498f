import { DuplicateEventIdError, WrongExpectedVersionError } from '../errors.js'
import type { AppendResult, ExpectedVersion } from '../types.js'
import type { PreparedEvent } from './prepare.js'

/**
 * Throws {@link WrongExpectedVersionError} unless a stream at `actualVersion` satisfies `expected`.
 * Adapters call it inside their write transaction (or under their write lock), after
 * {@link findIdempotentResult}, with the version read in that same transaction.
 */
export function checkExpectedVersion(streamId: string, expected: ExpectedVersion, actualVersion: number): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && actualVersion === 0) ||
    (expected === 'stream_exists' && actualVersion > 0) ||
    expected === actualVersion
  if (!ok) throw new WrongExpectedVersionError(streamId, expected, actualVersion)
}

/** Where an already stored event lives, as an adapter finds it by id. */
export interface StoredEventLocation {
  streamId: string
  streamVersion: number
  globalPosition: number
}

/** The ids of a batch that could make it a repeat: only ids the caller supplied. */
export function givenIds(events: readonly PreparedEvent[]): string[] {
  const ids: string[] = []
  for (const e of events) if (e.idGiven) ids.push(e.id)
  return ids
}

/**
 * The idempotency rule. `found` holds, for each event of the batch in order, where an event with its
 * id is already stored (or `undefined`).
 *
 * - none stored: returns `undefined`, the append goes on (the expected version is checked next);
 * - every one stored in this stream at consecutive versions, in batch order: the batch was appended
 *   before (a retry after a lost reply), so the original result is returned and nothing is written,
 *   whatever `expectedVersion` says, since the first attempt already passed its check;
 * - anything else (some new, another stream, another order): {@link DuplicateEventIdError}.
 */
export function findIdempotentResult(
  streamId: string,
  events: readonly PreparedEvent[],
  found: readonly (StoredEventLocation | undefined)[],
): AppendResult | undefined {
  const stored = found.filter((f): f is StoredEventLocation => f !== undefined)
  if (stored.length === 0) return undefined
  const ids = events.filter((_, i) => found[i] !== undefined).map((e) => e.id)
  if (stored.length !== events.length)
    throw new DuplicateEventIdError(streamId, ids, 'the batch mixes stored and new events')
  const first = stored[0] as StoredEventLocation
  stored.forEach((s, i) => {
    if (s.streamId !== streamId)
      throw new DuplicateEventIdError(streamId, ids, `event ${events[i]?.id} is stored in stream ${s.streamId}`)
    if (s.streamVersion !== first.streamVersion + i)
      throw new DuplicateEventIdError(streamId, ids, 'the stored events are not this batch in this order')
  })
  const last = stored[stored.length - 1] as StoredEventLocation
  return {
    nextExpectedVersion: last.streamVersion,
    firstPosition: first.globalPosition,
    lastPosition: last.globalPosition,
  }
}
