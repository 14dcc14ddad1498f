/**
 * Two decisions of the MongoDB append that need no server: how long to wait before a transaction is
 * tried again, and what an append whose commit outcome is unknown did.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { findIdempotentResult, type PreparedAppend, type StoredEventLocation } from '../internal/index.js'
import type { AppendResult } from '../types.js'

/**
 * The wait before attempt `attempt` (2, 3, ...) of a transaction that hit a WriteConflict: full jitter
 * over 5 ms x 1.5^attempt, at most 500 ms, as MongoDB's transactions specification now asks of drivers.
 * Every append touches the one counter document, so without it concurrent appenders retry in lockstep
 * and mostly conflict again. `random` is injectable for tests.
 */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  return random() * Math.min(5 * 1.5 ** attempt, 500)
}

/**
 * Whether the driver backs off between transaction attempts by itself: `withTransaction` does since
 * driver 7.1.0 (NODE-7122, commit e70fdc9); 6.x (the 6.x branch included) and 7.0 retry at once.
 */
export function driverBacksOff(version: string | undefined): boolean {
  const [major = 0, minor = 0] = (version ?? '').split('.').map(Number)
  return major > 7 || (major === 7 && minor >= 1)
}

/**
 * The pause the store adds at the start of each retried attempt, or `undefined` when the driver pauses
 * itself. Real time, not the store's clock: a fake clock in tests would never let the append go on, and
 * this wait only spaces out retries against a server.
 */
export function transactionBackoff(
  driverVersion: string | undefined,
): ((attempt: number) => Promise<void>) | undefined {
  if (driverBacksOff(driverVersion)) return undefined
  return (attempt) => sleep(backoffMs(attempt))
}

/**
 * After `withTransaction` gave up with `UnknownTransactionCommitResult`, the batch may be committed.
 * `stored` is where each of its ids (generated ones included) is found now: all of them, in this
 * stream at consecutive versions, means the commit happened and this is its result; none means it did
 * not (`undefined`: the caller reports the failure). Anything else cannot come from this batch alone
 * and throws `DuplicateEventIdError`.
 */
export function committedResult(
  append: PreparedAppend,
  stored: ReadonlyMap<string, StoredEventLocation>,
): AppendResult | undefined {
  const found = append.events.map((e) => stored.get(e.id))
  return findIdempotentResult(append.streamId, append.events, found)
}
