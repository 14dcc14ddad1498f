import { BulwarkError } from '../core/errors.js'
import type { ExpectedVersion } from './types.js'

/**
 * Thrown by `appendToStream` when the stream's version is not the one the caller expected.
 * Nothing of the append was written. `streamId`, `expectedVersion` and `actualVersion` are both
 * properties and entries of `context`.
 *
 * @example
 * ```ts
 * try {
 *   await store.appendToStream('order-1', [event], { expectedVersion: 3 })
 * } catch (e) {
 *   if (e instanceof WrongExpectedVersionError) console.log(e.expectedVersion, e.actualVersion)
 *   // across two installed copies of Bulwark: isBulwarkError(e, 'E_WRONG_EXPECTED_VERSION')
 * }
 * ```
 */
export class WrongExpectedVersionError extends BulwarkError {
  readonly streamId: string
  readonly expectedVersion: ExpectedVersion
  /** The stream's version when the append was refused (0 when the stream does not exist). */
  readonly actualVersion: number

  constructor(streamId: string, expectedVersion: ExpectedVersion, actualVersion: number) {
    super(
      'E_WRONG_EXPECTED_VERSION',
      `Append to stream ${JSON.stringify(streamId)} expected version ${describeExpected(expectedVersion)}, but the stream is at version ${actualVersion}`,
      { context: { streamId, expectedVersion, actualVersion } },
    )
    this.streamId = streamId
    this.expectedVersion = expectedVersion
    this.actualVersion = actualVersion
  }
}

/**
 * Thrown when an append re-uses event ids that are already stored, but not as one earlier append of
 * exactly this batch to this stream: some ids of the batch are new, or they live in another stream or
 * at other positions. Retrying the same batch is idempotent; mixing old and new ids is a bug.
 */
export class DuplicateEventIdError extends BulwarkError {
  readonly streamId: string
  readonly eventIds: readonly string[]

  constructor(streamId: string, eventIds: readonly string[], reason: string) {
    super(
      'E_DUPLICATE_EVENT_ID',
      `Append to stream ${JSON.stringify(streamId)} re-uses stored event id(s) ${eventIds.join(', ')}: ${reason}`,
      { context: { streamId, eventIds } },
    )
    this.streamId = streamId
    this.eventIds = eventIds
  }
}

/** Thrown by any call on a store after `close()`. */
export class StoreClosedError extends BulwarkError {
  constructor(adapter: string) {
    super('E_STORE_CLOSED', `The ${adapter} event store is closed`, { context: { adapter } })
  }
}

function describeExpected(expected: ExpectedVersion): string {
  if (expected === 'no_stream') return "'no_stream' (the stream must not exist)"
  if (expected === 'stream_exists') return "'stream_exists'"
  return String(expected)
}
