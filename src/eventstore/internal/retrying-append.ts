/**
 * The append loop of the adapters whose database checks the expected version itself (PostgreSQL,
 * MongoDB): they try the write first and only look closer when the database refused it, so a
 * successful append costs one round trip and no prior read.
 */
import { BulwarkError } from '../../core/errors.js'
import type { AppendResult } from '../types.js'
import {
  checkExpectedVersion,
  findIdempotentResult,
  givenIds,
  type PreparedAppend,
  type StoredEventLocation,
} from './index.js'

/** What an adapter gives the loop. */
export interface AppendSteps {
  /** Writes the batch atomically if the stream's version matches; `undefined` when the database refused it (nothing written). */
  tryAppend(): Promise<AppendResult | undefined>
  /** Where events with these ids are stored, by id (in the form the caller passed them). */
  findStored(ids: string[]): Promise<Map<string, StoredEventLocation>>
  /** The stream's current version (0 when it does not exist). */
  streamVersion(): Promise<number>
}

// Each round has seen the stream's version change under it; this bounds a pathological livelock.
const MAX_ATTEMPTS = 100

/**
 * Appends, and when the database refuses: returns the original result of a repeated batch
 * (idempotency), throws `WrongExpectedVersionError` or `DuplicateEventIdError`, or, when the stream
 * moved so that the expected version holds again, tries once more.
 */
export async function retryingAppend(append: PreparedAppend, steps: AppendSteps): Promise<AppendResult> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const written = await steps.tryAppend()
    if (written) return written
    const ids = givenIds(append.events)
    if (ids.length > 0) {
      const stored = await steps.findStored(ids)
      const found = append.events.map((e) => (e.idGiven ? stored.get(e.id) : undefined))
      const repeated = findIdempotentResult(append.streamId, append.events, found)
      if (repeated) return repeated
    }
    checkExpectedVersion(append.streamId, append.expectedVersion, await steps.streamVersion())
  }
  throw new BulwarkError(
    'E_STORE_UNAVAILABLE',
    `Append to ${JSON.stringify(append.streamId)} was refused ${MAX_ATTEMPTS} times while its version kept changing`,
    { context: { streamId: append.streamId } },
  )
}
