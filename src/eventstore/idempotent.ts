import { ValidationError } from '../core/errors.js'
import { validateId } from './internal/validate.js'
import type { EventStore, RecordedEvent } from './types.js'

/** Options of {@link idempotent}. */
export interface IdempotentOptions {
  /** Where the record of handled events is kept (as a checkpoint). */
  store: EventStore
  /** Checkpoint id of the record; one per handler. */
  key: string
}

/**
 * Wraps a subscription handler so that an event delivered again is skipped.
 *
 * Why a single number is a complete record: subscriptions deliver events one at a time in global
 * position order, and positions are gap-free and in commit order. So "event e was handled" is exactly
 * "e's position <= the last position handled", and one durable checkpoint per handler (stored after
 * each event, under `key`) identifies every handled event id without a growing set of ids.
 *
 * What it narrows but cannot remove: a crash after the handler's effect and before the record is
 * stored re-delivers that one event. For an exactly-once effect, make the effect itself idempotent
 * (an upsert keyed by event id), or keep the record in the same transaction as the effect.
 *
 * @example
 * ```ts
 * subscribe(store, {
 *   subscriptionId: 'mailer',
 *   handler: idempotent(async (event) => mailer.send(event.data), { store, key: 'mailer:sent' }),
 * })
 * ```
 */
export function idempotent(
  handler: (event: RecordedEvent) => void | Promise<void>,
  options: IdempotentOptions,
): (event: RecordedEvent) => Promise<void> {
  if (typeof handler !== 'function') throw new ValidationError('handler', 'a function', handler)
  const { store, key } = options ?? {}
  if (typeof store?.storeCheckpoint !== 'function') throw new ValidationError('store', 'an EventStore', store)
  validateId(key, 'key')
  let last: number | undefined
  return async (event) => {
    last ??= (await store.loadCheckpoint(key)) ?? 0
    if (event.globalPosition <= last) return
    await handler(event)
    await store.storeCheckpoint(key, event.globalPosition)
    last = event.globalPosition
  }
}
