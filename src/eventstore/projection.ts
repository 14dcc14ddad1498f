import { ValidationError } from '../core/errors.js'
import { expectOptions, optionKeys } from '../core/validate.js'
import type { DomainEvent, RecordedOf } from './aggregate.js'
import { isPlainObject } from './internal/json.js'
import { type SubscribeOptions, type Subscription, subscribe } from './subscribe.js'
import type { EventStore, RecordedEvent } from './types.js'

/**
 * One handler per event type of `E`, each given that type's recorded event (typed `data`, no cast).
 * Without a union of events (`E` left at its default), any type name maps to a plain `RecordedEvent`.
 */
export type ProjectionHandlers<E extends DomainEvent> = string extends E['type']
  ? Record<string, (event: RecordedEvent) => void | Promise<void>>
  : { [T in E['type']]?: (event: RecordedOf<Extract<E, { type: T }>>) => void | Promise<void> }

/** Options of {@link projection}: {@link SubscribeOptions} with handlers by event type. */
export interface ProjectionOptions<E extends DomainEvent = DomainEvent>
  extends Omit<SubscribeOptions, 'subscriptionId' | 'handler' | 'types'> {
  /** Name of the projection; its checkpoint is stored under this id. */
  projectionId: string
  /** One handler per event type; only these types are read. */
  handlers: ProjectionHandlers<E>
}

/**
 * A read model kept up to date from the store: a catch-up subscription to the event types that
 * `handlers` names, each event going to its type's handler. It inherits the subscription's guarantees:
 * position order, no gap between history and live, durable checkpoint, at-least-once delivery.
 *
 * @example
 * ```ts
 * type OrderEvent = { type: 'OrderPlaced'; data: { total: number } } | { type: 'OrderCancelled'; data: null }
 * const totals = new Map<string, number>()
 * const running = projection<OrderEvent>(store, {
 *   projectionId: 'order-totals',
 *   handlers: {
 *     OrderPlaced: (e) => { totals.set(e.streamId, e.data.total) },
 *     OrderCancelled: (e) => { totals.delete(e.streamId) },
 *   },
 * })
 * await running.waitFor(await store.headPosition())
 * ```
 */
export function projection<E extends DomainEvent = DomainEvent>(
  store: EventStore,
  options: ProjectionOptions<E>,
): Subscription {
  if (!isPlainObject(options)) throw new ValidationError('options', 'an options object', options)
  expectOptions(
    'options',
    options,
    optionKeys<ProjectionOptions>({
      projectionId: true,
      handlers: true,
      from: true,
      batchSize: true,
      pollInterval: true,
      retryDelay: true,
      clock: true,
      onError: true,
    }),
  )
  const { projectionId, handlers, ...rest } = options
  if (!isPlainObject(handlers) || Object.keys(handlers).length === 0)
    throw new ValidationError('handlers', 'an object of event types to handler functions', handlers)
  for (const [type, handler] of Object.entries(handlers))
    if (typeof handler !== 'function') throw new ValidationError(`handlers.${type}`, 'a function', handler)
  // Each handler gets only its own type (the read filters by the keys), so the per-type signatures hold.
  const byType = handlers as Record<string, ((event: RecordedEvent) => void | Promise<void>) | undefined>
  return subscribe(store, {
    ...rest,
    subscriptionId: projectionId,
    types: Object.keys(handlers),
    handler: (event) => byType[event.type]?.(event),
  })
}
